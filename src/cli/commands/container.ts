// `ps`, `inspect` and `rm`: containers and their tasks.
import { parseCommand, UsageError } from '../args.js';
import type { CliClient } from '../client.js';
import { json, type Ctx } from '../context.js';
import type { Container, ListContainersReply } from '../messages.js';
import { ago, table } from '../table.js';

export const PS_HEADERS = ['ID', 'STATUS', 'PID', 'RUNTIME', 'EXIT', 'CREATED'] as const;

/** One ps row per container (pure: unit-tested). */
export function psRow(c: Container, now: number): string[] {
  const t = c.task ?? undefined;
  const exited = t?.status === 'exited';
  return [
    c.id,
    t ? t.status : 'no task',
    t && t.pid ? String(t.pid) : '-',
    c.runtime,
    exited ? (t.exitSignal ? `${t.exitCode} (${t.exitSignal})` : String(t.exitCode)) : '-',
    ago(c.createdAt, now),
  ];
}

export function psTable(containers: readonly Container[], now: number): string {
  const sorted = [...containers].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  return table(PS_HEADERS, sorted.map((c) => psRow(c, now)));
}

export async function ps(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand<{ filter?: string[] }>(argv, { filter: { type: 'string', short: 'f', multiple: true } });
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const ctx = ctx0.with(values);
  const client = await ctx.client();
  const { containers } = await client.unary<ListContainersReply>('Containers', 'List', { labelFilters: values.filter ?? [] });
  ctx.stdout(ctx.globals.json ? json(containers) : psTable(containers, Date.now()));
  return 0;
}

export async function inspect(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {});
  if (positionals.length === 0) throw new UsageError('missing container ID');
  const ctx = ctx0.with(values);
  const client = await ctx.client();
  const out: Container[] = [];
  for (const id of positionals) out.push(await client.unary<Container>('Containers', 'Get', { id }));
  // One ID gives one object, several an array (scripts pipe one to jq without [0]).
  ctx.stdout(json(out.length === 1 ? out[0] : out));
  return 0;
}

/** Deletes the task (killing it with force) and then the container. */
async function removeOne(client: CliClient, id: string, force: boolean): Promise<{ id: string; exitCode?: number }> {
  const c = await client.unary<Container>('Containers', 'Get', { id });
  let exitCode: number | undefined;
  if (c.task) exitCode = (await client.unary<{ exitCode: number }>('Tasks', 'Delete', { id, force })).exitCode;
  await client.unary('Containers', 'Delete', { id });
  return exitCode === undefined ? { id } : { id, exitCode };
}

export async function rm(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand<{ force?: boolean }>(argv, { force: { type: 'boolean', short: 'f' } });
  if (positionals.length === 0) throw new UsageError('missing container ID');
  const ctx = ctx0.with(values);
  const client = await ctx.client();
  const removed: { id: string; exitCode?: number }[] = [];
  let failed: Error | undefined;
  // Like `docker rm a b c`: go on past a failure, report it, exit non-zero at the end.
  for (const id of positionals) {
    try {
      removed.push(await removeOne(client, id, values.force ?? false));
      if (!ctx.globals.json) ctx.stdout(`${id}\n`);
    } catch (e) {
      if (failed !== undefined || !(e instanceof Error)) ctx.stderr(`chronicle: ${id}: ${describe(e)}\n`);
      else failed = e;
    }
  }
  if (ctx.globals.json) ctx.stdout(json(removed));
  // The first failure is reported as any command's error (same code and exit status).
  if (failed !== undefined) throw failed;
  return removed.length === positionals.length ? 0 : 1;
}

function describe(e: unknown): string {
  if (e instanceof Error && 'code' in e && typeof e.code === 'string') return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
