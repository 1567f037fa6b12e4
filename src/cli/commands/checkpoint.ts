// Checkpoints: `checkpoint ID [--leave-running] [--name N]`, `checkpoint rm CHECKPOINT...`,
// `checkpoints [ID]`, `restore CHECKPOINT [--id NEW_ID]`.
import { parseCommand, positionals, UsageError } from '../args.js';
import { json, type Ctx } from '../context.js';
import type { Checkpoint, ListCheckpointsReply, TaskReply } from '../messages.js';
import { ago, table } from '../table.js';

export const CHECKPOINT_HEADERS = ['CHECKPOINT', 'CONTAINER', 'SIZE', 'TASK', 'PARENT', 'CREATED'] as const;

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1 << 20) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

/** One row per checkpoint (pure: unit-tested). */
export function checkpointRow(c: Checkpoint, now: number): string[] {
  return [c.checkpointId, c.containerId, size(c.bytes), c.leftRunning ? (c.paused ? 'left paused' : 'left running') : 'stopped', c.parent || '-', ago(c.createdAt, now)];
}

export async function checkpoint(ctx0: Ctx, argv: string[]): Promise<number> {
  if (argv[0] === 'rm') return removeCheckpoints(ctx0, argv.slice(1));
  const { values, positionals: pos } = parseCommand<{ 'leave-running'?: boolean; name?: string }>(argv, {
    'leave-running': { type: 'boolean' },
    name: { type: 'string' },
  });
  const [id] = positionals(pos, ['container ID']) as [string];
  const ctx = ctx0.with(values);
  const cp = await (await ctx.client()).unary<Checkpoint>('Checkpoints', 'Create', { id, leaveRunning: values['leave-running'] ?? false, name: values.name ?? '' }, { long: true });
  ctx.stdout(ctx.globals.json ? json(cp) : `${cp.checkpointId}\n`);
  return 0;
}

async function removeCheckpoints(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals: pos } = parseCommand(argv, {});
  if (pos.length === 0) throw new UsageError('missing CHECKPOINT');
  const ctx = ctx0.with(values);
  const client = await ctx.client();
  for (const checkpointId of pos) {
    await client.unary('Checkpoints', 'Delete', { checkpointId });
    if (!ctx.globals.json) ctx.stdout(`${checkpointId}\n`);
  }
  if (ctx.globals.json) ctx.stdout(json(pos));
  return 0;
}

export async function checkpoints(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals: pos } = parseCommand(argv, {});
  if (pos.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(pos[1])}`);
  const ctx = ctx0.with(values);
  const { checkpoints: list } = await (await ctx.client()).unary<ListCheckpointsReply>('Checkpoints', 'List', { id: pos[0] ?? '' });
  const now = Date.now();
  ctx.stdout(ctx.globals.json ? json(list) : table(CHECKPOINT_HEADERS, list.map((c) => checkpointRow(c, now))));
  return 0;
}

export async function restore(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals: pos } = parseCommand<{ id?: string }>(argv, { id: { type: 'string' } });
  const [checkpointId] = positionals(pos, ['CHECKPOINT']) as [string];
  const ctx = ctx0.with(values);
  const { task } = await (await ctx.client()).unary<TaskReply>('Checkpoints', 'Restore', { checkpointId, id: values.id ?? '' }, { long: true });
  ctx.stdout(ctx.globals.json ? json(task ?? null) : `${task?.id ?? values.id ?? ''}\n`);
  return 0;
}
