// What a shim needs from a runtime. Exits are not returned here: the reaper (runc) or the
// child's own exit event (process) reports them to the shim.
import { spawn, type SpawnOptions } from 'node:child_process';
import { ChronicleError } from '../errors.js';
import type { Reaper } from './reaper.js';

export interface ContainerSpec {
  id: string;
  bundle: string;
  args: string[];
  env: string[];
  cwd: string;
}

export interface ExecSpec {
  execId: string;
  /** The container's bundle: exec process files are written there. */
  bundle: string;
  args: string[];
  env: string[];
  cwd: string;
}

/** Open file descriptors the process reads its stdin from (none: /dev/null) and writes its stdout and stderr to. */
export interface StdioFds {
  stdin?: number;
  stdout: number;
  stderr: number;
}

export interface Stats {
  cpuUsageNs: number;
  memoryBytes: number;
  pids: number;
}

export type ExitListener = (pid: number, exitCode: number, signal: string | null, at: number) => void;

export interface Runtime {
  readonly name: 'runc' | 'process';
  create(spec: ContainerSpec, stdio: StdioFds): Promise<number>;
  start(id: string, pid: number): Promise<void>;
  pause(id: string, pid: number): Promise<void>;
  resume(id: string, pid: number): Promise<void>;
  kill(id: string, pid: number, signal: number, all: boolean): Promise<void>;
  exec(id: string, spec: ExecSpec, stdio: StdioFds): Promise<number>;
  delete(id: string, force: boolean): Promise<void>;
  pids(id: string, pid: number): Promise<number[]>;
  stats(id: string, pid: number): Promise<Stats>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a helper command (runc) as a tracked libuv child; rejects on a non-zero exit. */
export function run(reaper: Reaper, cmd: string, args: readonly string[], opts: SpawnOptions = {}, timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts, timeout: timeoutMs });
    if (child.pid) reaper.track(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', (e) => {
      if (child.pid) reaper.untrack(child.pid);
      reject(new ChronicleError('FAILED_PRECONDITION', `${cmd}: ${e.message}`, { cmd }));
    });
    // Reaped by libuv at 'exit'; 'close' waits for its pipes too.
    child.once('exit', () => {
      if (child.pid) reaper.untrack(child.pid);
    });
    child.once('close', (code, signal) => {
      const c = code ?? 128;
      if (c === 0) resolve({ code: c, stdout, stderr });
      else reject(new ChronicleError('FAILED_PRECONDITION', `${cmd} ${args.filter((a) => !a.startsWith('/')).slice(0, 3).join(' ')} failed (${signal ?? c}): ${stderr.trim().slice(-500)}`, { cmd }));
    });
  });
}
