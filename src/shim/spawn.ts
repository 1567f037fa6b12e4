// Starts a shim detached (new session, stderr to its log file), reads its ONE handshake line
// with a deadline, validates it, and lets go of it, so the spawner may exit or die without
// taking the shim along.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { entryPoint } from '../entry-points.js';
import { ChronicleError } from '../errors.js';
import { shimAddress } from './address.js';
import { Handshake } from './handshake.js';

const SHIM_MAIN = entryPoint('chronicle-shim');

export interface SpawnShimOptions {
  stateDir: string;
  ns: string;
  /** The container id, or the group name of a shared shim. */
  id: string;
  runtimeBinary?: string;
  runcRoot?: string;
  /** Default: <stateDir>/s/<address>.log */
  logFile?: string;
  timeoutMs?: number;
  /** A warm-pool shim (exits if orphaned before it hosts anything). */
  pool?: boolean;
}

/** The address a shim for ns/id will serve on (known before the spawn). */
export function addressFor(opts: Pick<SpawnShimOptions, 'stateDir' | 'ns' | 'id'>): string {
  return shimAddress(opts.stateDir, opts.ns, opts.id);
}

export async function spawnShim(opts: SpawnShimOptions): Promise<Handshake> {
  const address = addressFor(opts);
  const logFile = opts.logFile ?? address.replace(/\.sock$/, '.log');
  mkdirSync(dirname(logFile), { recursive: true });
  const logFd = openSync(logFile, 'a');
  const args = [SHIM_MAIN, '--state-dir', opts.stateDir, '--ns', opts.ns, '--id', opts.id, '--log', logFile];
  if (opts.runtimeBinary) args.push('--runtime-binary', opts.runtimeBinary);
  args.push('--runc-root', opts.runcRoot ?? join(opts.stateDir, 'runc'));
  if (opts.pool) args.push('--pool', '--parent-pid', String(process.pid));
  // A 1 MB young generation instead of 16: a shim allocates little, and this saves ~5 MB of
  // resident memory per shim for ~20 ms more at start (median of 15, measured on 2 cores).
  // GC on the main thread only: 5-10 s after start, V8's memory reducer shrinks each shim's
  // heap (20.9 -> 15.9 MB PSS) with concurrent marking on four helper threads, ~78 ms of CPU
  // per shim; single-threaded it cost 55-62 ms and ended at 15.4-17.0 MB (10 shims, two runs).
  const child = spawn(process.execPath, ['--max-semi-space-size=1', '--single-threaded-gc', ...args], { detached: true, stdio: ['ignore', 'pipe', logFd] });
  closeSync(logFd);
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new ChronicleError('SHIM_UNAVAILABLE', `shim did not say hello within ${opts.timeoutMs ?? 10_000} ms (log: ${logFile})`)), opts.timeoutMs ?? 10_000);
      child.stdout?.on('data', (b: Buffer) => {
        buf += b.toString();
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          resolve(buf.slice(0, nl));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new ChronicleError('SHIM_UNAVAILABLE', `shim exited (${code}) before its handshake (log: ${logFile})`));
      });
    });
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new ChronicleError('SHIM_UNAVAILABLE', `bad shim handshake: ${line.slice(0, 200)}`);
    }
    const hello = Handshake.safeParse(raw);
    if (!hello.success || hello.data.address !== address) throw new ChronicleError('SHIM_UNAVAILABLE', `bad shim handshake: ${line.slice(0, 200)}`);
    return hello.data;
  } catch (e) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw e;
  } finally {
    child.stdout?.destroy();
    child.removeAllListeners('exit');
    child.unref();
  }
}
