// The `process` runtime: a host command as the shim's direct child, in its own process
// group, for machines without runc or root. Create starts `sh` stopped by itself, so the
// pid is known at create and the command is exec'd only on Start (SIGCONT). Pause and
// resume are SIGSTOP/SIGCONT of the process group. libuv reaps these children.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { readFile } from 'node:fs/promises';
import { ChronicleError } from '../errors.js';
import type { Reaper } from './reaper.js';
import type { ContainerSpec, ExecSpec, ExitListener, Runtime, Stats, StdioFds } from './runtime.js';

const STOP_THEN_EXEC = 'kill -STOP $$; exec "$@"';

export class ProcessRuntime implements Runtime {
  readonly name = 'process';

  constructor(
    private readonly reaper: Reaper,
    private readonly onExit: ExitListener,
  ) {}

  #spawn(args: string[], env: string[], cwd: string, stdio: StdioFds): number {
    const child = spawn('/bin/sh', ['-c', STOP_THEN_EXEC, 'sh', ...args], {
      detached: true,
      stdio: [stdio.stdin ?? 'ignore', stdio.stdout, stdio.stderr],
      env: env.length ? Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])) : { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      cwd: cwd || '/',
    });
    const pid = child.pid;
    if (pid === undefined) throw new ChronicleError('FAILED_PRECONDITION', `cannot start ${args[0] ?? '(nothing)'}`);
    this.reaper.track(pid);
    child.once('exit', (code, signal) => {
      const at = Date.now();
      this.reaper.untrack(pid);
      const signum = signal ? constants.signals[signal] : 0;
      this.onExit(pid, code ?? 128 + signum, signal, at);
    });
    child.once('error', () => undefined);
    return pid;
  }

  async #waitStopped(pid: number): Promise<void> {
    // The shell stops itself; wait until /proc says so, so that Start's SIGCONT is not lost.
    for (let i = 0; i < 500; i++) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'T' || state === '' || state === 'Z') return;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  async create(spec: ContainerSpec, stdio: StdioFds): Promise<number> {
    if (spec.args.length === 0) throw new ChronicleError('INVALID_ARGUMENT', 'invalid args: the process runtime needs a command', { field: 'args' });
    const pid = this.#spawn(spec.args, spec.env, spec.cwd, stdio);
    await this.#waitStopped(pid);
    return pid;
  }

  async start(_id: string, pid: number): Promise<void> {
    process.kill(pid, 'SIGCONT');
  }

  async pause(_id: string, pid: number): Promise<void> {
    process.kill(-pid, 'SIGSTOP');
  }

  async resume(_id: string, pid: number): Promise<void> {
    process.kill(-pid, 'SIGCONT');
  }

  async kill(_id: string, pid: number, signal: number, all: boolean): Promise<void> {
    try {
      process.kill(all ? -pid : pid, signal);
      // A stopped group would not act on the signal until continued.
      if (signal !== 19 && signal !== 9) process.kill(-pid, 'SIGCONT');
    } catch {
      // already gone: its exit is (or will be) reported
    }
  }

  async exec(_id: string, spec: ExecSpec, stdio: StdioFds): Promise<number> {
    const pid = this.#spawn(spec.args, spec.env, spec.cwd, stdio);
    await this.#waitStopped(pid);
    process.kill(pid, 'SIGCONT');
    return pid;
  }

  async delete(): Promise<void> {}

  async pids(_id: string, pid: number): Promise<number[]> {
    // The process group: every /proc entry whose pgrp is the command's pid.
    const { readdir } = await import('node:fs/promises');
    const out: number[] = [];
    for (const name of await readdir('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pid) out.push(Number(name));
    }
    return out.sort((a, b) => a - b);
  }

  async stats(id: string, pid: number): Promise<Stats> {
    const pids = await this.pids(id, pid);
    let cpuTicks = 0;
    let rss = 0;
    for (const p of pids) {
      const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpuTicks += Number(f[11] ?? 0) + Number(f[12] ?? 0);
      rss += Number(f[21] ?? 0) * 4096;
    }
    return { cpuUsageNs: cpuTicks * 10_000_000, memoryBytes: rss, pids: pids.length };
  }
}

