/* eslint-disable no-console -- the CLI's job is to print */
// `run` and `create`: Containers.Create + Tasks.Create (+ Tasks.Start). Attached `run`
// streams the task's output while it waits, forwards SIGINT/SIGTERM to the task, and
// exits with the container's code (after deleting it with --rm).
import { resolve } from 'node:path';
import { parseEnv, parseKeyValues, parseWithCommand, UsageError, type OptionSpec } from '../args.js';
import type { CliClient } from '../client.js';
import { json, type Ctx } from '../context.js';
import type { Container, CreateContainerRequest, LogChunk, TaskReply, WaitReply } from '../messages.js';
import { exitStatus } from '../signals.js';

const CREATE_OPTIONS = {
  runtime: { type: 'string' },
  rootfs: { type: 'string' },
  bundle: { type: 'string' },
  env: { type: 'string', short: 'e', multiple: true },
  label: { type: 'string', short: 'l', multiple: true },
  cwd: { type: 'string' },
} as const satisfies OptionSpec;

const RUN_OPTIONS = { ...CREATE_OPTIONS, rm: { type: 'boolean' }, detach: { type: 'boolean', short: 'd' } } as const satisfies OptionSpec;

interface CreateValues {
  runtime?: string;
  rootfs?: string;
  bundle?: string;
  env?: string[];
  label?: string[];
  cwd?: string;
}

/** The CreateContainerRequest a command line asks for (pure: unit-tested). */
export function createRequest(values: CreateValues, id: string, cmd: string[], cwd = process.cwd()): CreateContainerRequest {
  if (values.rootfs !== undefined && values.bundle !== undefined) throw new UsageError('--rootfs and --bundle exclude each other');
  if (values.runtime !== undefined && !['runc', 'process'].includes(values.runtime)) throw new UsageError(`--runtime must be runc or process, got ${JSON.stringify(values.runtime)}`);
  if (values.bundle === undefined && cmd.length === 0) throw new UsageError('missing command: chronicle run [flags] ID -- CMD...');
  return {
    id,
    runtime: values.runtime ?? '',
    // The daemon wants absolute paths: resolve them against the caller's cwd.
    bundle: values.bundle !== undefined ? resolve(cwd, values.bundle) : '',
    rootfs: values.rootfs !== undefined ? resolve(cwd, values.rootfs) : '',
    args: cmd,
    env: parseEnv(values.env),
    cwd: values.cwd ?? '',
    labels: parseKeyValues(values.label, 'label'),
  };
}

/** Container then task; the container is removed again if its task cannot be created. */
async function createBoth(client: CliClient, req: CreateContainerRequest): Promise<Container> {
  const container = await client.unary<Container>('Containers', 'Create', req);
  try {
    const { task } = await client.unary<TaskReply>('Tasks', 'Create', { id: req.id });
    return { ...container, task: task ?? null };
  } catch (e) {
    await client.unary('Containers', 'Delete', { id: req.id }).catch(() => undefined);
    throw e;
  }
}

export async function create(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, id, cmd } = parseWithCommand<CreateValues>(argv, CREATE_OPTIONS);
  const ctx = ctx0.with(values);
  const req = createRequest(values, id, cmd);
  const client = await ctx.client();
  const c = await createBoth(client, req);
  ctx.stdout(ctx.globals.json ? json(c) : `${c.id}\n`);
  return 0;
}

export async function run(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, id, cmd } = parseWithCommand<CreateValues & { rm?: boolean; detach?: boolean }>(argv, RUN_OPTIONS);
  const ctx = ctx0.with(values);
  const req = createRequest(values, id, cmd);
  if (values.rm && values.detach) throw new UsageError('--rm and --detach exclude each other');
  const client = await ctx.client();
  await createBoth(client, req);

  if (values.detach) {
    await client.unary<TaskReply>('Tasks', 'Start', { id });
    ctx.stdout(ctx.globals.json ? json(await client.unary<Container>('Containers', 'Get', { id })) : `${id}\n`);
    return 0;
  }

  // Follow the output from before the start, so nothing written early is missed.
  const logsDone = new AbortController();
  const logs = pump(client, id, ctx, logsDone.signal);
  const forward = (sig: NodeJS.Signals) => void client.unary('Tasks', 'Kill', { id, signal: sig }).catch(() => undefined);
  let exit: WaitReply;
  try {
    await client.unary<TaskReply>('Tasks', 'Start', { id });
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    exit = await client.unary<WaitReply>('Tasks', 'Wait', { id }, { long: true });
  } catch (e) {
    logsDone.abort();
    // Undo what this run made; the error that stopped it is the one to report.
    if (values.rm) await remove(client, id).catch(() => undefined);
    throw e;
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
  // The log stream ends by itself once everything written is sent; don't hang on it.
  const grace = setTimeout(() => logsDone.abort(), 2_000);
  await logs;
  clearTimeout(grace);
  if (values.rm) await remove(client, id);
  return exitStatus(exit.exitCode, exit.exitSignal);
}

/** Copies Logs(follow) to our stdout/stderr; a failure of the stream is only reported. */
async function pump(client: CliClient, id: string, ctx: Ctx, signal: AbortSignal): Promise<void> {
  try {
    for await (const chunk of client.stream<LogChunk>('Tasks', 'Logs', { id, follow: true }, signal)) {
      (chunk.stream === 'stderr' ? ctx.stderr : ctx.stdout)(chunk.data);
    }
  } catch (e) {
    if (!signal.aborted) console.error(`chronicle: logs: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function remove(client: CliClient, id: string): Promise<void> {
  await client.unary('Tasks', 'Delete', { id, force: true });
  await client.unary('Containers', 'Delete', { id });
}
