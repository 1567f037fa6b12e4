// Task commands: start, pause, resume, kill, exec, logs, wait.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseCommand, parseEnv, parseWithCommand, positionals, UsageError } from '../args.js';
import { json, type Ctx } from '../context.js';
import type { ExecReply, LogChunk, TaskReply, WaitReply } from '../messages.js';
import { exitStatus, normalizeSignal } from '../signals.js';

/** start/pause/resume: one call on a task, printing its id (or the task with --json). */
function simple(method: 'Start' | 'Pause' | 'Resume') {
  return async (ctx0: Ctx, argv: string[]): Promise<number> => {
    const { values, positionals: pos } = parseCommand(argv, {});
    const [id] = positionals(pos, ['container ID']) as [string];
    const ctx = ctx0.with(values);
    const { task } = await (await ctx.client()).unary<TaskReply>('Tasks', method, { id });
    ctx.stdout(ctx.globals.json ? json(task ?? null) : `${id}\n`);
    return 0;
  };
}

export const start = simple('Start');
export const pause = simple('Pause');
export const resume = simple('Resume');

export async function kill(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals: pos } = parseCommand<{ signal?: string; all?: boolean; 'exec-id'?: string }>(argv, {
    signal: { type: 'string', short: 's' },
    all: { type: 'boolean', short: 'a' },
    'exec-id': { type: 'string' },
  });
  const [id] = positionals(pos, ['container ID']) as [string];
  const signal = normalizeSignal(values.signal ?? 'SIGTERM');
  if (!signal) throw new UsageError(`unknown signal ${JSON.stringify(values.signal)}`);
  const ctx = ctx0.with(values);
  await (await ctx.client()).unary('Tasks', 'Kill', { id, signal, all: values.all ?? false, execId: values['exec-id'] ?? '' });
  return 0;
}

export async function exec(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, id, cmd } = parseWithCommand<{ 'exec-id'?: string; env?: string[]; cwd?: string }>(argv, {
    'exec-id': { type: 'string' },
    env: { type: 'string', short: 'e', multiple: true },
    cwd: { type: 'string' },
  });
  if (cmd.length === 0) throw new UsageError('missing command: chronicle exec [flags] ID -- CMD...');
  const ctx = ctx0.with(values);
  const client = await ctx.client();
  const execId = values['exec-id'] ?? `exec-${randomBytes(4).toString('hex')}`;
  const x = await client.unary<ExecReply>('Tasks', 'Exec', { id, execId, args: cmd, env: parseEnv(values.env), cwd: values.cwd ?? '' });
  const exit = await client.unary<WaitReply>('Tasks', 'Wait', { id, execId }, { long: true });
  // Simple on purpose: the exec's output files are read once it has exited.
  for (const [path, write] of [
    [x.stdout, ctx.stdout],
    [x.stderr, ctx.stderr],
  ] as const) {
    if (path) write(await readFile(path).catch(() => Buffer.alloc(0)));
  }
  return exitStatus(exit.exitCode, exit.exitSignal);
}

export async function logs(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals: pos } = parseCommand<{ follow?: boolean; stream?: string }>(argv, {
    follow: { type: 'boolean', short: 'f' },
    stream: { type: 'string' },
  });
  const [id] = positionals(pos, ['container ID']) as [string];
  if (values.stream !== undefined && !['stdout', 'stderr'].includes(values.stream)) throw new UsageError('--stream must be stdout or stderr');
  const ctx = ctx0.with(values);
  const client = await ctx.client();
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for await (const chunk of client.stream<LogChunk>('Tasks', 'Logs', { id, follow: values.follow ?? false, stream: values.stream ?? '' }, stop.signal)) {
      (chunk.stream === 'stderr' ? ctx.stderr : ctx.stdout)(chunk.data);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}

export async function wait(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals: pos } = parseCommand<{ 'exec-id'?: string }>(argv, { 'exec-id': { type: 'string' } });
  const [id] = positionals(pos, ['container ID']) as [string];
  const ctx = ctx0.with(values);
  const exit = await (await ctx.client()).unary<WaitReply>('Tasks', 'Wait', { id, execId: values['exec-id'] ?? '' }, { long: true });
  ctx.stdout(ctx.globals.json ? json(exit) : `${exit.exitCode}\n`);
  return exitStatus(exit.exitCode, exit.exitSignal);
}
