// The runc runtime (any runc-compatible CLI): `runc create` then `start`; no long-lived runc
// process. The shim is child subreaper, so the container init and detached execs become
// its children when runc exits, and the reaper reports their exits.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { ChronicleError } from '../errors.js';
import type { Reaper } from './reaper.js';
import { run, type ContainerSpec, type ExecSpec, type Runtime, type Stats, type StdioFds } from './runtime.js';

const RuncStats = z.object({
  data: z
    .object({
      cpu: z.object({ usage: z.object({ total: z.number().optional() }).optional() }).optional(),
      memory: z.object({ usage: z.object({ usage: z.number().optional() }).optional() }).optional(),
      pids: z.object({ current: z.number().optional() }).optional(),
    })
    .optional(),
});

export interface CheckpointOptions {
  /** The CRIU binary (or wrapper) runc runs. */
  criu: string;
  imagePath: string;
  workPath: string;
  leaveRunning: boolean;
}

export interface RestoreSpec {
  id: string;
  bundle: string;
  criu: string;
  imagePath: string;
  workPath: string;
}

/** The last line runc printed (its stderr ends with CRIU's verdict and log path). */
function lastLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.trim().split('\n').filter(Boolean).slice(-2).join(' ').slice(-400);
}

export class RuncRuntime implements Runtime {
  readonly name = 'runc';

  constructor(
    private readonly reaper: Reaper,
    private readonly binary: string,
    private readonly root: string,
  ) {}

  #runc(args: string[], opts: Parameters<typeof run>[3] = {}, timeoutMs?: number): ReturnType<typeof run> {
    return run(this.reaper, this.binary, ['--root', this.root, ...args], opts, timeoutMs);
  }

  async create(spec: ContainerSpec, stdio: StdioFds): Promise<number> {
    const pidFile = join(spec.bundle, 'init.pid');
    await rm(pidFile, { force: true });
    // The init inherits runc's stdout/stderr; runc's own errors go to its log file.
    await this.#runc(['--log', join(spec.bundle, 'runc.log'), 'create', '--bundle', spec.bundle, '--pid-file', pidFile, spec.id], {
      stdio: [stdio.stdin ?? 'ignore', stdio.stdout, stdio.stderr],
    }).catch(async (e: unknown) => {
      const log = await readFile(join(spec.bundle, 'runc.log'), 'utf8').catch(() => '');
      throw new ChronicleError('FAILED_PRECONDITION', `runc create failed: ${log.trim().split('\n').slice(-2).join(' ') || String(e)}`);
    });
    return Number((await readFile(pidFile, 'utf8')).trim());
  }

  async start(id: string): Promise<void> {
    await this.#runc(['start', id]);
  }

  async pause(id: string): Promise<void> {
    await this.#runc(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.#runc(['resume', id]);
  }

  async kill(id: string, _pid: number, signal: number, all: boolean): Promise<void> {
    await this.#runc(['kill', ...(all ? ['--all'] : []), id, String(signal)]);
  }

  async exec(id: string, spec: ExecSpec, stdio: StdioFds): Promise<number> {
    const dir = spec.bundle;
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { process?: Record<string, unknown> };
    const proc = { ...(config.process ?? {}), terminal: false, args: spec.args, ...(spec.env.length ? { env: spec.env } : {}), ...(spec.cwd ? { cwd: spec.cwd } : {}) };
    const procFile = join(dir, `exec-${spec.execId}.json`);
    const pidFile = join(dir, `exec-${spec.execId}.pid`);
    await writeFile(procFile, JSON.stringify(proc));
    await this.#runc(['exec', '--detach', '--pid-file', pidFile, '--process', procFile, id], { stdio: [stdio.stdin ?? 'ignore', stdio.stdout, stdio.stderr] });
    return Number((await readFile(pidFile, 'utf8')).trim());
  }

  /**
   * `runc checkpoint` through CRIU into imagePath (CRIU's own log goes to workPath). Without
   * leaveRunning the container's processes are killed once dumped; a failed dump leaves
   * them running (CRIU resumes the tree) and the error names CRIU's log.
   */
  async checkpoint(id: string, opts: CheckpointOptions): Promise<void> {
    const args = ['--criu', opts.criu, 'checkpoint', '--image-path', opts.imagePath, '--work-path', opts.workPath, '--tcp-established'];
    if (opts.leaveRunning) args.push('--leave-running');
    await mkdir(opts.workPath, { recursive: true, mode: 0o700 });
    await this.#runc([...args, id], {}, 120_000).catch((e: unknown) => {
      throw new ChronicleError('RUNTIME_FAILED', `checkpoint of ${id} failed; it is left as it was (CRIU's log: ${join(opts.workPath, 'dump.log')}): ${lastLine(e)}`, { id, log: join(opts.workPath, 'dump.log') }, { cause: e });
    });
  }

  /**
   * `runc restore --detach`: the restored init becomes the shim's child once runc exits, as
   * after create. Its stdout/stderr are the pipes given (runc passes them to CRIU for the
   * dumped ones). Returns its pid. On failure nothing of the container is left in runc.
   */
  async restore(spec: RestoreSpec, stdio: StdioFds): Promise<number> {
    const pidFile = join(spec.bundle, 'init.pid');
    await rm(pidFile, { force: true });
    await rm(spec.workPath, { recursive: true, force: true });
    await mkdir(spec.workPath, { recursive: true, mode: 0o700 });
    const runcLog = join(spec.bundle, 'runc.log');
    await rm(runcLog, { force: true });
    // runc's own stdout/stderr are the container's pipes: its errors go to its log file.
    const args = ['--log', runcLog, '--criu', spec.criu, 'restore', '--detach', '--image-path', spec.imagePath, '--work-path', spec.workPath, '--tcp-established', '--bundle', spec.bundle, '--pid-file', pidFile, spec.id];
    try {
      await this.#runc(args, { stdio: ['ignore', stdio.stdout, stdio.stderr] }, 120_000);
    } catch (e) {
      await this.#runc(['delete', '--force', spec.id]).catch(() => undefined);
      const said = await readFile(runcLog, 'utf8').catch(() => '');
      const why = said.trim().split('\n').slice(-2).join(' ').slice(-400) || lastLine(e);
      throw new ChronicleError('RUNTIME_FAILED', `restore of ${spec.id} failed (CRIU's log: ${join(spec.workPath, 'restore.log')}): ${why}`, { id: spec.id, log: join(spec.workPath, 'restore.log') }, { cause: e });
    }
    return Number((await readFile(pidFile, 'utf8')).trim());
  }

  async delete(id: string, force: boolean): Promise<void> {
    await this.#runc(['delete', ...(force ? ['--force'] : []), id]);
  }

  async pids(id: string): Promise<number[]> {
    const r = await this.#runc(['ps', '--format', 'json', id]);
    return z.array(z.number()).parse(JSON.parse(r.stdout || '[]'));
  }

  async stats(id: string): Promise<Stats> {
    const r = await this.#runc(['events', '--stats', id]);
    const s = RuncStats.parse(JSON.parse(r.stdout));
    return { cpuUsageNs: s.data?.cpu?.usage?.total ?? 0, memoryBytes: s.data?.memory?.usage?.usage ?? 0, pids: s.data?.pids?.current ?? 0 };
  }
}
