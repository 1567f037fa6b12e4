// Real nats-server processes for the fleet tests: one JetStream server, or a cluster of
// three with routes on loopback. Each has its own store dir and ports; stop() ends only the
// process it started (by PID) and can be undone with start() on the same store and port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port }, () => {
      c.end();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });
}

export interface NatsServer {
  name: string;
  port: number;
  url: string;
  output: () => string;
  start: () => Promise<void>;
  /** SIGKILL by default: an outage, not a goodbye. */
  stop: (signal?: NodeJS.Signals) => Promise<void>;
  running: () => boolean;
}

interface ServerSpec {
  name: string;
  port: number;
  store: string;
  cluster?: { name: string; port: number; routes: number[] };
}

function server(spec: ServerSpec): NatsServer {
  let child: ChildProcess | undefined;
  let out = '';
  const args = ['-js', '-sd', spec.store, '-a', '127.0.0.1', '-p', String(spec.port), '-n', spec.name];
  if (spec.cluster) {
    args.push('--cluster_name', spec.cluster.name, '--cluster', `nats://127.0.0.1:${spec.cluster.port}`, '--routes', spec.cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(','));
  }
  const s: NatsServer = {
    name: spec.name,
    port: spec.port,
    url: `nats://127.0.0.1:${spec.port}`,
    output: () => out,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    start: async () => {
      // CHRONICLE_NATS_NICE=N runs the server at that nice value (bench:fleet uses it to stand in
      // for a NATS on other machines, which does not share the node's CPUs).
      const nice = process.env['CHRONICLE_NATS_NICE'];
      child = nice ? spawn('nice', ['-n', nice, 'nats-server', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
      const deadline = Date.now() + 20_000;
      while (!(await accepts(spec.port))) {
        if (!s.running() || Date.now() > deadline) throw new Error(`nats-server ${spec.name} did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: (signal = 'SIGKILL') =>
      new Promise((resolve) => {
        const c = child;
        if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
        c.once('exit', () => resolve());
        c.kill(signal);
      }),
  };
  return s;
}

export interface NatsSetup {
  servers: NatsServer[];
  urls: string;
  cleanup: () => Promise<void>;
}

/** One JetStream server, or `size` of them in a cluster; started. */
export async function startNats(size = 1): Promise<NatsSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'chr-nats-'));
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const clusterPorts = size > 1 ? await Promise.all(Array.from({ length: size }, () => freePort())) : [];
  const servers = ports.map((port, i) =>
    server({
      name: `n${i + 1}`,
      port,
      store: join(dir, `s${i + 1}`),
      ...(size > 1 ? { cluster: { name: 'chronicle-test', port: clusterPorts[i]!, routes: clusterPorts.filter((_, j) => j !== i) } } : {}),
    }),
  );
  const setup: NatsSetup = {
    servers,
    urls: servers.map((s) => s.url).join(','),
    cleanup: async () => {
      for (const s of servers) await s.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (const s of servers) await s.start();
  } catch (e) {
    await setup.cleanup();
    throw e;
  }
  return setup;
}
