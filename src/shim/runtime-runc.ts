// The runc runtime (any runc-compatible CLI): `runc create` then `start`; no long-lived runc
// process. The shim is child subreaper, so the container init and detached execs become
// its children when runc exits, and the reaper reports their exits.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
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

export class RuncRuntime implements Runtime {
  readonly name = 'runc';

  constructor(
    private readonly reaper: Reaper,
    private readonly binary: string,
    private readonly root: string,
  ) {}

  #runc(args: string[], opts: Parameters<typeof run>[3] = {}): ReturnType<typeof run> {
    return run(this.reaper, this.binary, ['--root', this.root, ...args], opts);
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
