// The shim's model of what it hosts: containers (each with its init and execs), their exit
// statuses until Delete, and the facts they produce. It checks every request against the
// container's state before calling the runtime, so a bad call never reaches runc.
import { closeSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ChronicleError } from '../errors.js';
import type { ChildExit } from './ffi.js';
import { FactLog } from './fact-log.js';
import { OomWatcher } from './oom.js';
import { Reaper } from './reaper.js';
import { ProcessRuntime } from './runtime-process.js';
import { measureImage, type ImageMeasure } from './checkpoint-image.js';
import { RuncRuntime } from './runtime-runc.js';
import type { Runtime, Stats, StdioFds } from './runtime.js';
import { StdinCopy } from './stdin-copy.js';
import { StdioPipes } from './stdio-pipes.js';

export type Status = 'created' | 'running' | 'paused' | 'stopped';

interface Exit {
  exitCode: number;
  exitedAt: number;
  signal: string | null;
}

interface Proc {
  pid: number;
  status: Status;
  exit: Exit | undefined;
  waiters: ((e: Exit) => void)[];
  stdout: string;
  stderr: string;
  /** The copy from the client's stdin FIFO into the process's stdin pipe. */
  stdin?: StdinCopy | undefined;
}

interface Hosted extends Proc {
  id: string;
  bundle: string;
  runtime: Runtime;
  execs: Map<string, Proc>;
  /** runc: resolves once the init's output pipes were copied to the end. */
  copied: Promise<void> | undefined;
  /** runc: its `runc delete`, started when the init exited. */
  removed?: Promise<unknown> | undefined;
  /** runc: a `runc start` in flight (the early delete waits for it). */
  starting?: Promise<unknown> | undefined;
}

/** How long an exit waits for the output still in the init's pipes (a daemonised child may hold them open). */
const OUTPUT_GRACE_MS = 500;

export interface CheckpointSpec {
  id: string;
  imagePath: string;
  workPath: string;
  leaveRunning: boolean;
  criu: string;
}

export interface CheckpointResult extends ImageMeasure {
  durationMs: number;
  leftRunning: boolean;
  /** The init's exit when the checkpoint stopped the task. */
  exit: Exit | undefined;
  pid: number;
}

export interface RestoreSpec {
  id: string;
  bundle: string;
  imagePath: string;
  workPath: string;
  stdout: string;
  stderr: string;
  criu: string;
  runtimeBinary: string;
  runcRoot: string;
}

export interface CreateSpec {
  id: string;
  bundle: string;
  runtime: 'runc' | 'process';
  args: string[];
  env: string[];
  cwd: string;
  stdout: string;
  stderr: string;
  /** '' for none (/dev/null). */
  stdin: string;
  /** runc only: a runc-compatible CLI and its --root for this container (default: the shim's). */
  runtimeBinary: string;
  runcRoot: string;
}

export interface StateView {
  id: string;
  execId: string;
  pid: number;
  status: Status;
  exitCode: number;
  exitedAt: number;
  bundle: string;
  runtime: string;
}

export interface SupervisorOptions {
  runtimeBinary: string;
  runcRoot: string;
  /** Called when the shim hosts nothing any more (after the last Delete). */
  onEmpty: () => void;
}

/**
 * Opens a file or FIFO for writing. A FIFO is opened read-write, as containerd does: a
 * write-only open would block until a reader came, and a reader that goes away would
 * then break the pipe.
 */
function openOut(path: string, field: string): number {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isFIFO() ? openSync(path, 'r+') : openSync(path, 'a');
  } catch (e) {
    throw new ChronicleError('INVALID_ARGUMENT', `invalid ${field}: cannot open ${path} for writing`, { field }, { cause: e });
  }
}

function closeKeepAlive(p: Proc): void {
  p.stdin?.closeKeepAlive();
}

function stopStdin(p: Proc): void {
  p.stdin?.close();
  p.stdin = undefined;
}

/** Opens stdin (optional), stdout and stderr; closes what it opened if one fails. */
function openStdio(stdinPath: string, stdout: string, stderr: string): { fds: { stdin?: number; stdout: number; stderr: number }; stdin: StdinCopy | undefined; close: () => void } {
  const opened: number[] = [];
  let input: StdinCopy | undefined;
  try {
    input = stdinPath ? new StdinCopy(stdinPath) : undefined;
    if (input) opened.push(input.fd);
    const out = openOut(stdout, 'stdout');
    opened.push(out);
    const err = stderr === stdout ? out : openOut(stderr, 'stderr');
    if (err !== out) opened.push(err);
    return {
      fds: { ...(input ? { stdin: input.fd } : {}), stdout: out, stderr: err },
      stdin: input,
      // The child ends: the runtime's child (runc) has passed them on by then.
      close: () => opened.forEach((fd) => closeSync(fd)),
    };
  } catch (e) {
    opened.forEach((fd) => closeSync(fd));
    input?.close();
    throw e;
  }
}

export class Supervisor {
  readonly facts = new FactLog();
  readonly reaper: Reaper;
  readonly #hosted = new Map<string, Hosted>();
  /** Every pid we wait for: the init or an exec of a hosted container. */
  readonly #byPid = new Map<number, { c: Hosted; execId: string }>();
  /** Exits seen before their pid was known (the init died as runc create returned). */
  readonly #early = new Map<number, Exit>();
  /** One runc runtime per (binary, root) that a Create asked for. */
  readonly #runcs = new Map<string, RuncRuntime>();
  readonly #oom: OomWatcher;
  readonly #process: ProcessRuntime;
  readonly #opts: SupervisorOptions;

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    this.reaper = new Reaper((exit, at) => this.#exited(exit, at));
    this.#oom = new OomWatcher((id) => this.#oomKilled(id));
    this.#process = new ProcessRuntime(this.reaper, (pid, exitCode, signal, at) => this.#exited({ pid, exitCode, signal }, at));
  }

  /** Starts reaping (call once, after PR_SET_CHILD_SUBREAPER). */
  supervise(): void {
    this.reaper.start();
  }

  get size(): number {
    return this.#hosted.size;
  }

  /** True if any hosted process may still be alive. */
  get live(): boolean {
    return [...this.#hosted.values()].some((c) => c.status !== 'stopped');
  }

  #get(id: string): Hosted {
    const c = this.#hosted.get(id);
    if (!c) throw new ChronicleError('NOT_FOUND', `container ${id} not found in this shim`, { id });
    return c;
  }

  #proc(id: string, execId: string): Proc {
    const c = this.#get(id);
    if (!execId) return c;
    const x = c.execs.get(execId);
    if (!x) throw new ChronicleError('NOT_FOUND', `exec ${execId} not found in ${id}`, { id, execId });
    return x;
  }

  #need(c: Proc, allowed: Status[], what: string, id: string): void {
    if (!allowed.includes(c.status)) throw new ChronicleError('FAILED_PRECONDITION', `cannot ${what} ${id}: it is ${c.status}`, { id, status: c.status });
  }

  #runc(binary: string, root: string): RuncRuntime {
    const b = binary || this.#opts.runtimeBinary;
    const r = root || this.#opts.runcRoot;
    const key = `${b}\0${r}`;
    let rt = this.#runcs.get(key);
    if (!rt) this.#runcs.set(key, (rt = new RuncRuntime(this.reaper, b, r)));
    return rt;
  }

  /**
   * Starts waiting for proc.pid. An exit already reaped for that pid counts only if it came
   * after `since` (when runc was asked to make the process): an older one belonged to an
   * earlier process that had the same pid.
   */
  #watch(c: Hosted, execId: string, proc: Proc, since: number): void {
    const early = this.#early.get(proc.pid);
    this.#byPid.set(proc.pid, { c, execId });
    if (early) {
      this.#early.delete(proc.pid);
      if (early.exitedAt >= since) this.#recordAfterOutput(c, execId, proc, early);
    }
  }

  #oomKilled(id: string): void {
    const c = this.#hosted.get(id);
    if (!c) return;
    this.facts.append({ containerId: id, type: 'oom', pid: c.pid, exitCode: 0, signal: '', exitedAt: Date.now(), execId: '' });
  }

  #exited(exit: ChildExit, at: number): void {
    const owner = this.#byPid.get(exit.pid);
    const e: Exit = { exitCode: exit.exitCode, exitedAt: at, signal: exit.signal };
    if (!owner) {
      // Not known yet (or an orphan): keep it briefly in case its pid is about to be learned.
      this.#early.set(exit.pid, e);
      for (const [pid, old] of this.#early) if (this.#early.size > 1024 || old.exitedAt < at - 60_000) this.#early.delete(pid);
      return;
    }
    const proc = owner.execId ? owner.c.execs.get(owner.execId) : owner.c;
    if (proc) this.#recordAfterOutput(owner.c, owner.execId, proc, e);
  }

  /** An init's exit is reported once its last output is in its files (`run` prints them then). */
  #recordAfterOutput(c: Hosted, execId: string, proc: Proc, e: Exit): void {
    if (execId || !c.copied) return this.#record(c, execId, proc, e);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, OUTPUT_GRACE_MS)));
    void Promise.race([c.copied, grace]).then(() => {
      clearTimeout(timer);
      this.#record(c, execId, proc, e);
    });
  }

  #record(c: Hosted, execId: string, proc: Proc, e: Exit): void {
    if (proc.exit) return;
    this.#byPid.delete(proc.pid);
    if (!execId) {
      // An OOM kill is reported before the exit it caused.
      this.#oom.check(c.id);
      this.#oom.unwatch(c.id);
    }
    proc.exit = e;
    proc.status = 'stopped';
    stopStdin(proc);
    // runc's record of a stopped container serves nothing more (stats, pids, kill and exec
    // refuse a stopped task): remove it now, off the path of the Delete that will follow.
    // Not while `runc start` is still running: an init as quick as /bin/true exits before
    // runc start has removed its exec.fifo, and a delete then makes that start fail.
    if (!execId && c.runtime.name === 'runc') {
      c.removed ??= (c.starting ?? Promise.resolve())
        .catch(() => undefined)
        .then(() => c.runtime.delete(c.id, true))
        .catch(() => undefined);
    }
    this.facts.append({
      containerId: c.id,
      type: execId ? 'exec-exit' : 'exit',
      pid: proc.pid,
      exitCode: e.exitCode,
      signal: e.signal ?? '',
      exitedAt: e.exitedAt,
      execId,
    });
    for (const w of proc.waiters.splice(0)) w(e);
  }

  async create(spec: CreateSpec): Promise<{ pid: number; stdout: string; stderr: string }> {
    if (this.#hosted.has(spec.id)) throw new ChronicleError('ALREADY_EXISTS', `container ${spec.id} already exists in this shim`, { id: spec.id });
    const runtime = spec.runtime === 'runc' ? this.#runc(spec.runtimeBinary, spec.runcRoot) : this.#process;
    const stdout = spec.stdout || join(spec.bundle, 'stdout.log');
    const stderr = spec.stderr || join(spec.bundle, 'stderr.log');
    if (!statSync(spec.bundle, { throwIfNoEntry: false })?.isDirectory()) {
      throw new ChronicleError('INVALID_ARGUMENT', `invalid bundle: ${spec.bundle} is not a directory`, { field: 'bundle' });
    }
    const c: Hosted = { id: spec.id, bundle: spec.bundle, runtime, pid: 0, status: 'created', exit: undefined, waiters: [], stdout, stderr, execs: new Map(), copied: undefined };
    return this.#launch(c, spec.stdin, (stdio) => runtime.create({ id: spec.id, bundle: spec.bundle, args: spec.args, env: spec.env, cwd: spec.cwd }, stdio));
  }

  /**
   * Opens stdin (a client's FIFO, optional) and the output files, reserves the id while the
   * runtime makes the init, and starts waiting for it. A runc init writes into pipes that
   * the shim copies (see stdio-pipes), so that CRIU can checkpoint it.
   */
  async #launch(c: Hosted, stdinPath: string, make: (stdio: StdioFds) => Promise<number>): Promise<{ pid: number; stdout: string; stderr: string }> {
    const io = openStdio(stdinPath, c.stdout, c.stderr);
    c.stdin = io.stdin;
    let pipes: StdioPipes | undefined;
    if (c.runtime.name === 'runc') {
      try {
        // The pipes own the output fds from here on (they close them when the copy ends).
        pipes = new StdioPipes(io.fds.stdout, io.fds.stderr);
      } catch (e) {
        io.close();
        stopStdin(c);
        throw e;
      }
      c.copied = pipes.done;
    }
    // Reserve the id while runc works, so a concurrent Create of the same id is refused.
    this.#hosted.set(c.id, c);
    const since = Date.now();
    try {
      c.pid = await make(pipes ? { ...(io.fds.stdin !== undefined ? { stdin: io.fds.stdin } : {}), stdout: pipes.stdout, stderr: pipes.stderr } : io.fds);
      if (c.runtime.name === 'runc') this.#oom.watch(c.id, c.pid);
      this.#watch(c, '', c, since);
      this.reaper.kick();
      return { pid: c.pid, stdout: c.stdout, stderr: c.stderr };
    } catch (e) {
      this.#hosted.delete(c.id);
      stopStdin(c);
      throw e;
    } finally {
      // The child (runc) has passed its ends on by now.
      if (pipes) {
        pipes.closeWriteEnds();
        if (io.fds.stdin !== undefined) closeSync(io.fds.stdin);
      } else io.close();
    }
  }

  async start(id: string): Promise<StateView> {
    const c = this.#get(id);
    this.#need(c, ['created'], 'start', id);
    c.starting = c.runtime.start(id, c.pid);
    try {
      await c.starting;
    } finally {
      c.starting = undefined;
    }
    if (c.status === 'created') c.status = 'running';
    return this.state(id, '');
  }

  async pause(id: string): Promise<StateView> {
    const c = this.#get(id);
    this.#need(c, ['running'], 'pause', id);
    await c.runtime.pause(id, c.pid);
    if (c.status === 'running') c.status = 'paused';
    return this.state(id, '');
  }

  async resume(id: string): Promise<StateView> {
    const c = this.#get(id);
    this.#need(c, ['paused'], 'resume', id);
    await c.runtime.resume(id, c.pid);
    if (c.status === 'paused') c.status = 'running';
    return this.state(id, '');
  }

  async kill(id: string, execId: string, signal: number, all: boolean): Promise<void> {
    const c = this.#get(id);
    const p = this.#proc(id, execId);
    this.#need(p, ['created', 'running', 'paused'], 'kill', id);
    if (execId) process.kill(p.pid, signal);
    else {
      await c.runtime.kill(id, c.pid, signal, all);
      // A frozen cgroup holds even SIGKILL until thawed (containerd resumes too).
      if (c.status === 'paused' && c.runtime.name === 'runc') await c.runtime.resume(id, c.pid).catch(() => undefined);
    }
  }

  async exec(
    id: string,
    execId: string,
    args: string[],
    env: string[],
    cwd: string,
    stdio: { stdin: string; stdout: string; stderr: string } = { stdin: '', stdout: '', stderr: '' },
  ): Promise<{ pid: number; stdout: string; stderr: string }> {
    const c = this.#get(id);
    this.#need(c, ['running'], 'exec in', id);
    // An exited exec's id may be used again (containerd deletes the old one first).
    if (c.execs.has(execId) && c.execs.get(execId)?.status !== 'stopped') throw new ChronicleError('ALREADY_EXISTS', `exec ${execId} already exists in ${id}`, { id, execId });
    const stdout = stdio.stdout || join(c.bundle, `exec-${execId}.stdout.log`);
    const stderr = stdio.stderr || join(c.bundle, `exec-${execId}.stderr.log`);
    const io = openStdio(stdio.stdin, stdout, stderr);
    const x: Proc = { pid: 0, status: 'created', exit: undefined, waiters: [], stdout, stderr, stdin: io.stdin };
    c.execs.set(execId, x);
    const since = Date.now();
    try {
      x.pid = await c.runtime.exec(id, { execId, bundle: c.bundle, args, env, cwd }, io.fds);
      if (x.status === 'created') x.status = 'running';
      this.#watch(c, execId, x, since);
      this.reaper.kick();
      return { pid: x.pid, stdout, stderr };
    } catch (e) {
      c.execs.delete(execId);
      stopStdin(x);
      throw e;
    } finally {
      io.close();
    }
  }

  /** containerd's CloseIO(stdin): drops the keep-alive writer (a no-op when there is none). */
  closeStdin(id: string, execId: string): void {
    closeKeepAlive(this.#proc(id, execId));
  }

  /** Where a process writes (for Logs), and whether it is done writing. */
  output(id: string, execId: string): { stdout: string; stderr: string; done: () => boolean } {
    const p = this.#proc(id, execId);
    return { stdout: p.stdout, stderr: p.stderr, done: () => p.status === 'stopped' };
  }

  /** The state of every hosted container's init process. */
  states(): StateView[] {
    return [...this.#hosted.keys()].map((id) => this.state(id, ''));
  }

  state(id: string, execId: string): StateView {
    const c = this.#get(id);
    const p = this.#proc(id, execId);
    return {
      id,
      execId,
      pid: p.pid,
      status: p.status,
      exitCode: p.exit?.exitCode ?? 0,
      exitedAt: p.exit?.exitedAt ?? 0,
      bundle: c.bundle,
      runtime: c.runtime.name,
    };
  }

  /** Resolves when the process has exited (at once if it already has). */
  wait(id: string, execId: string, signal?: AbortSignal): Promise<Exit> {
    const p = this.#proc(id, execId);
    if (p.exit) return Promise.resolve(p.exit);
    return new Promise((resolve, reject) => {
      const waiter = (e: Exit): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(e);
      };
      // A cancelled Wait leaves nothing behind: clients that time out and retry are common.
      const onAbort = (): void => {
        const i = p.waiters.indexOf(waiter);
        if (i >= 0) p.waiters.splice(i, 1);
        reject(new ChronicleError('UNAVAILABLE', 'wait cancelled'));
      };
      p.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async delete(id: string): Promise<Exit> {
    const c = this.#get(id);
    this.#need(c, ['created', 'stopped'], 'delete', id);
    if (c.status === 'created') {
      // A created task was never started: kill its init, then remove it.
      await c.runtime.kill(id, c.pid, 9, true).catch(() => undefined);
      await Promise.race([this.wait(id, ''), new Promise((r) => setTimeout(r, 2000))]);
    }
    await (c.removed ?? c.runtime.delete(id, true).catch(() => undefined));
    for (const x of c.execs.values()) {
      if (x.status !== 'stopped') this.#byPid.delete(x.pid);
      stopStdin(x);
    }
    stopStdin(c);
    this.#hosted.delete(id);
    this.#oom.unwatch(id);
    this.facts.forget(id);
    const exit = c.exit ?? { exitCode: 137, exitedAt: Date.now(), signal: 'SIGKILL' };
    // Let the reply go out first; a Create arriving meanwhile keeps the shim alive.
    if (this.#hosted.size === 0) setTimeout(() => this.#hosted.size === 0 && this.#opts.onEmpty(), 100);
    return exit;
  }

  async pids(id: string): Promise<number[]> {
    const c = this.#get(id);
    if (c.status === 'stopped') return [];
    return c.runtime.pids(id, c.pid);
  }

  async stats(id: string): Promise<Stats> {
    const c = this.#get(id);
    this.#need(c, ['created', 'running', 'paused'], 'read stats of', id);
    return c.runtime.stats(id, c.pid);
  }

  /**
   * Dumps a running or paused container with CRIU into spec.imagePath and measures the
   * image. Without leaveRunning the dump stops the task: this waits for the init's exit and
   * returns it. A failed dump leaves the task as it was.
   */
  async checkpoint(spec: CheckpointSpec): Promise<CheckpointResult> {
    const c = this.#get(spec.id);
    if (!(c.runtime instanceof RuncRuntime)) {
      throw new ChronicleError('FAILED_PRECONDITION', `the ${c.runtime.name} runtime cannot checkpoint ${spec.id}: only runc containers can (with CRIU 4, see scripts/install-criu.sh)`, { id: spec.id });
    }
    this.#need(c, ['running', 'paused'], 'checkpoint', spec.id);
    const t0 = performance.now();
    await c.runtime.checkpoint(spec.id, spec);
    const durationMs = performance.now() - t0;
    let timer: NodeJS.Timeout | undefined;
    const exit = spec.leaveRunning ? undefined : await Promise.race([this.wait(spec.id, ''), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 10_000)))]);
    clearTimeout(timer);
    const measured = await measureImage(spec.imagePath);
    return { ...measured, durationMs, leftRunning: spec.leaveRunning, exit, pid: c.pid };
  }

  /**
   * Restores a container from a CRIU image into a bundle (`runc restore --detach`); the
   * restored init is this shim's child and is reaped like any task. It enters `running`.
   * On failure nothing of it is left: not in runc, not in this shim.
   */
  async restore(spec: RestoreSpec): Promise<{ pid: number; stdout: string; stderr: string }> {
    if (this.#hosted.has(spec.id)) throw new ChronicleError('ALREADY_EXISTS', `container ${spec.id} already exists in this shim`, { id: spec.id });
    if (!statSync(spec.bundle, { throwIfNoEntry: false })?.isDirectory()) {
      throw new ChronicleError('INVALID_ARGUMENT', `invalid bundle: ${spec.bundle} is not a directory`, { field: 'bundle' });
    }
    const runtime = this.#runc(spec.runtimeBinary, spec.runcRoot);
    const stdout = spec.stdout || join(spec.bundle, 'stdout.log');
    const stderr = spec.stderr || join(spec.bundle, 'stderr.log');
    const c: Hosted = { id: spec.id, bundle: spec.bundle, runtime, pid: 0, status: 'running', exit: undefined, waiters: [], stdout, stderr, execs: new Map(), copied: undefined };
    const r = await this.#launch(c, '', (stdio) => runtime.restore(spec, stdio));
    return r;
  }

  /** Kills everything it hosts (force shutdown). */
  async killAll(): Promise<void> {
    for (const c of this.#hosted.values()) {
      if (c.status !== 'stopped') await c.runtime.kill(c.id, c.pid, 9, true).catch(() => undefined);
      await Promise.race([this.wait(c.id, ''), new Promise((r) => setTimeout(r, 2000))]);
      await c.runtime.delete(c.id, true).catch(() => undefined);
    }
  }
}
