// Starts a real chronicled (the built bundle, as `npm start` runs it) on temp dirs with its own socket,
// waits for readiness with a deadline, and stops it — printing its log when a wait fails.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { serviceClient, type ServiceName } from '../../src/api/proto.js';
import { entryPoint } from '../../src/entry-points.js';
import { childrenOf } from './shim-harness.js';

const MAIN = entryPoint('chronicled');

export interface RunningDaemon {
  root: string;
  state: string;
  socket: string;
  child: ChildProcess;
  output: () => string;
  client: (name: ServiceName) => Client;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
  /** Closes the gRPC clients made by `client` (the daemon and its shims are left alone). */
  closeClients: () => void;
  cleanup: () => Promise<void>;
}

export async function startDaemon(opts: { dir?: string; args?: string[]; env?: NodeJS.ProcessEnv; waitReady?: boolean } = {}): Promise<RunningDaemon> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'chr-d-'));
  const root = join(dir, 'root');
  const state = join(dir, 'state');
  const socket = join(state, 'chronicle.sock');
  const child = spawn(process.execPath, [MAIN, '--root', root, '--state', state, '--log-level', 'debug', ...(opts.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const clients: Client[] = [];
  const d: RunningDaemon = {
    root,
    state,
    socket,
    child,
    output: () => out,
    client: (name) => {
      const C = serviceClient(name);
      const c = new C(`unix://${socket}`, credentials.createInsecure());
      clients.push(c);
      return c;
    },
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
    closeClients: () => {
      for (const c of clients.splice(0)) c.close();
    },
    cleanup: async () => {
      d.closeClients();
      await d.stop('SIGKILL');
      reapLeftovers(state);
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  if (opts.waitReady === false) return d;
  const deadline = Date.now() + 60_000; // generous: CI machines are shared and slow at times
  while (!existsSync(socket) || !(await infoOk(d))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await d.cleanup();
      throw new Error(`chronicled did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return d;
}

/**
 * Shims and containers outlive the daemon by design, so a test that failed half-way leaves
 * them behind: delete every runc container under this state dir and kill every shim that
 * serves it (with the process-runtime commands in its children's groups).
 */
export function reapLeftovers(state: string): void {
  // runc's roots: <state>/runc (the shim's default) and <state>/runc/<namespace>.
  const base = join(state, 'runc');
  const roots = existsSync(base) ? [base, ...readdirSync(base, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(base, e.name))] : [];
  for (const runcRoot of roots) {
    const list = spawnSync('runc', ['--root', runcRoot, 'list', '-q'], { encoding: 'utf8' });
    for (const id of list.stdout.split('\n').filter(Boolean)) spawnSync('runc', ['--root', runcRoot, 'delete', '--force', id]);
  }
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmdline: string[];
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const i = cmdline.indexOf('--state-dir');
    if (i < 0 || cmdline[i + 1] !== state) continue;
    const shim = Number(name);
    for (const child of childrenOf(shim)) for (const target of [-child, child]) tryKill(target);
    tryKill(shim);
  }
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function infoOk(d: RunningDaemon): Promise<boolean> {
  try {
    await call(d.client('Daemon'), 'Info', {});
    return true;
  } catch {
    return false;
  }
}

export interface CallError {
  grpcCode: number;
  code: string | undefined;
  field: string | undefined;
}

/** A unary call with a deadline; rejects with the status and chronicle's code and field. */
export function call<T = Record<string, unknown>>(client: Client, method: string, req: unknown, ns?: string, timeoutMs = 10_000): Promise<T> {
  const md = new Metadata();
  if (ns !== undefined) md.set('chronicle-namespace', ns);
  const fn = (client as unknown as Record<string, (r: unknown, m: Metadata, o: { deadline: number }, cb: (e: ServiceError | null, r: T) => void) => void>)[method];
  if (!fn) throw new TypeError(`no method ${method}`);
  return new Promise((resolve, reject) =>
    fn.call(client, req, md, { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (!err) return resolve(res);
      const code = err.metadata?.get('chronicle-error-code')[0];
      const field = err.metadata?.get('chronicle-error-field')[0];
      const e: CallError = { grpcCode: err.code, code: typeof code === 'string' ? code : undefined, field: typeof field === 'string' ? field : undefined };
      reject(Object.assign(new Error(`${err.code} ${err.details}`), e));
    }),
  );
}

/** chronicle.v1.Task as a test reads it (a reply to Tasks.List or Get). */
export interface TaskMsg {
  id: string;
  status: string;
  pid: number;
  shimPid: number;
  shimAddress: string;
  exitCode: number;
  exitReason: string;
}

export interface EventMsg {
  seq: number;
  type: string;
  id: string;
  namespace: string;
  actor: string;
  dataJson: string;
}

/** All events from `fromSeq` up to the head, through Events.Subscribe (follow: false). */
export function readEvents(d: RunningDaemon, fromSeq = 1): Promise<EventMsg[]> {
  const c = d.client('Events') as unknown as { Subscribe: (r: unknown) => NodeJS.ReadableStream };
  const stream = c.Subscribe({ fromSeq, follow: false });
  const out: EventMsg[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (e: EventMsg) => out.push(e));
    stream.on('end', () => resolve(out));
    stream.on('error', reject);
  });
}
