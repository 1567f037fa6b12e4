// What a shim needs from a runtime. Exits are not returned here: the reaper (runc) or the
// child's own exit event (process) reports them to the shim.
import { closeSync, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { ChronicleError } from '../errors.js';
import { makePipe, spawnVfork } from './ffi.js';
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

/** A child's stdin, stdout or stderr: /dev/null, a pipe read into the result, or an open fd. */
export type StdioSpec = 'ignore' | 'pipe' | number;

export interface RunOptions {
  /** stdin is /dev/null or an fd: a 'pipe' here would be one the child writes to. */
  stdio?: readonly [Exclude<StdioSpec, 'pipe'>, StdioSpec, StdioSpec];
}

let devNullFd: number | undefined;

/** /dev/null, opened once (close-on-exec): each child gets its own dup2'd copy. */
function devNull(): number {
  devNullFd ??= openSync('/dev/null', 'r+');
  return devNullFd;
}

/**
 * Runs a helper command (runc) to its exit; rejects on a non-zero exit. Spawned with
 * posix_spawn (spawnVfork), not child_process: a fork of the shim's heap cost 5-10 ms of each
 * runc call here. The reaper reaps it; its piped stdout and stderr are read to their end.
 */
export function run(reaper: Reaper, cmd: string, args: readonly string[], opts: RunOptions = {}, timeoutMs = 30_000): Promise<RunResult> {
  const [stdin = 'ignore', stdout = 'pipe', stderr = 'pipe'] = opts.stdio ?? [];
  const opened: number[] = []; // ours to close once the child has its copies
  const piped: Promise<string>[] = [];
  /** The child's end; for a pipe, what the child writes to it arrives at `piped[at]`. */
  const fdFor = (spec: StdioSpec): { fd: number; at?: number } => {
    if (typeof spec === 'number') return { fd: spec };
    if (spec === 'ignore') return { fd: devNull() };
    const [read, write] = makePipe();
    opened.push(write);
    const socket = new Socket({ fd: read, readable: true, writable: false });
    let text = '';
    socket.on('data', (b: Buffer) => (text += b.toString()));
    return { fd: write, at: piped.push(new Promise((resolve) => socket.once('close', () => resolve(text)))) - 1 };
  };
  return new Promise((resolve, reject) => {
    let pid: number;
    let outAt: number | undefined;
    let errAt: number | undefined;
    try {
      const fds = [fdFor(stdin), fdFor(stdout), fdFor(stderr)] as const;
      const env = Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
      pid = spawnVfork(cmd, [cmd, ...args], env, [fds[0].fd, fds[1].fd, fds[2].fd]);
      outAt = fds[1].at;
      errAt = fds[2].at;
    } catch (e) {
      for (const fd of opened) closeSync(fd);
      reject(new ChronicleError('FAILED_PRECONDITION', `${cmd}: ${e instanceof Error ? e.message : String(e)}`, { cmd }));
      return;
    }
    for (const fd of opened) closeSync(fd);
    const timer = setTimeout(() => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone already
      }
    }, timeoutMs);
    reaper.expect(pid, (exit) => {
      clearTimeout(timer);
      // The pipes end once every holder of their write ends (runc's children too) has let go.
      void Promise.all(piped).then((texts) => {
        const out = outAt === undefined ? '' : (texts[outAt] ?? '');
        const err = errAt === undefined ? '' : (texts[errAt] ?? '');
        if (exit.exitCode === 0) resolve({ code: 0, stdout: out, stderr: err });
        else reject(new ChronicleError('FAILED_PRECONDITION', `${cmd} ${args.filter((a) => !a.startsWith('/')).slice(0, 3).join(' ')} failed (${exit.signal ?? exit.exitCode}): ${err.trim().slice(-500)}`, { cmd }));
      });
    });
  });
}
