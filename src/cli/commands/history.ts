// The History service from the command line: `state --at`, `history ID`, `diff A B`,
// `audit`, `verify` and `replay`. Points are passed through as typed (a seq, an RFC 3339
// time, or a duration such as 10m meaning that long ago); the daemon parses them.
import type { ChangeMessage } from '../../api/history-service.js';
import { parseCommand, UsageError } from '../args.js';
import { json, type Ctx } from '../context.js';
import type { Container, Event } from '../messages.js';
import { isoTime, keyValues, table } from '../table.js';
import { eventJson, eventLine } from './events.js';
import { psTable } from './container.js';

type Change = ChangeMessage;
interface AuditRecord {
  request: Event;
  outcome: string;
  facts: Event[];
}

function noPositionals(positionals: readonly string[], want = 0): void {
  if (positionals.length > want) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[want])}`);
}

/** Changes as a table for people (pure). */
export function changesTable(changes: readonly Change[]): string {
  return table(
    ['NAMESPACE', 'ID', 'CHANGE', 'FROM', 'TO', 'EXIT', 'DETAIL'],
    changes.map((c) => [c.namespace, c.id, c.kind, c.fromStatus || '-', c.toStatus || '-', c.kind === 'exited' ? String(c.exitCode) : '-', c.detail || '-']),
  );
}

export async function state(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand<{ at?: string }>(argv, { at: { type: 'string' } });
  noPositionals(positionals);
  const ctx = ctx0.with(values);
  const r = await (await ctx.client()).unary<{ seq: number; ts: number; containers: Container[] }>('History', 'StateAt', { at: values.at ?? '' });
  if (ctx.globals.json) ctx.stdout(json(r));
  else ctx.stdout(`state after seq ${r.seq} (${isoTime(r.ts)})\n` + psTable(r.containers, r.ts || Date.now()));
  return 0;
}

export async function history(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {});
  if (positionals.length !== 1) throw new UsageError('history takes one container ID');
  noPositionals(positionals, 1);
  const ctx = ctx0.with(values);
  const rows: string[][] = [];
  for await (const entry of (await ctx.client()).stream<{ event: Event; after?: Container | null }>('History', 'Timeline', { id: positionals[0] })) {
    if (ctx.globals.json) ctx.stdout(JSON.stringify(entry) + '\n');
    else {
      const t = entry.after?.task;
      rows.push([String(entry.event.seq), isoTime(entry.event.ts), entry.event.type, entry.event.actor || '-', entry.after ? (t ? t.status : 'no task') : 'deleted', t?.pid ? String(t.pid) : '-']);
    }
  }
  if (!ctx.globals.json) ctx.stdout(table(['SEQ', 'TIME', 'EVENT', 'ACTOR', 'AFTER', 'PID'], rows));
  return 0;
}

export async function diff(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {});
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError('diff takes FROM and optionally TO (default: now)');
  const ctx = ctx0.with(values);
  const r = await (await ctx.client()).unary<{ fromSeq: number; toSeq: number; changes: Change[] }>('History', 'Diff', { from: positionals[0], to: positionals[1] ?? '' });
  ctx.stdout(ctx.globals.json ? json(r) : `from seq ${r.fromSeq} to seq ${r.toSeq}\n` + changesTable(r.changes));
  return 0;
}

export async function audit(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand<{ actor?: string; op?: string; since?: string; until?: string; failed?: boolean; denied?: boolean; id?: string; limit?: string }>(argv, {
    actor: { type: 'string' },
    op: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    failed: { type: 'boolean' },
    denied: { type: 'boolean' },
    id: { type: 'string' },
    limit: { type: 'string' },
  });
  noPositionals(positionals);
  if (values.failed && values.denied) throw new UsageError('--failed and --denied exclude each other');
  const limit = values.limit === undefined ? 0 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 0) throw new UsageError('--limit must be a whole number');
  const ctx = ctx0.with(values);
  const client = await ctx.client();
  const base = {
    actor: values.actor ?? '',
    op: values.op ?? '',
    outcome: values.failed ? 'failed' : values.denied ? 'denied' : '',
    namespace: ctx.globals.namespace,
    id: values.id ?? '',
    since: values.since ?? '',
    until: values.until ?? '',
  };
  const rows: string[][] = [];
  let token = '';
  let printed = 0;
  do {
    const page = await client.unary<{ records: AuditRecord[]; nextPageToken: string }>('History', 'Audit', { ...base, limit: limit ? Math.min(500, limit - printed) : 500, pageToken: token });
    for (const r of page.records) {
      printed++;
      if (ctx.globals.json) ctx.stdout(JSON.stringify(r) + '\n');
      else {
        const data = JSON.parse(r.request.dataJson || '{}') as { op?: string; code?: string };
        rows.push([String(r.request.seq), isoTime(r.request.ts), r.request.actor, data.op ?? '-', r.request.id || '-', r.outcome + (data.code ? ` (${data.code})` : ''), r.facts.map((f) => f.type).join(',') || '-']);
      }
    }
    token = limit && printed >= limit ? '' : page.nextPageToken;
  } while (token);
  if (!ctx.globals.json) ctx.stdout(table(['SEQ', 'TIME', 'ACTOR', 'OP', 'ID', 'OUTCOME', 'FACTS'], rows));
  return 0;
}

export async function verify(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {});
  noPositionals(positionals);
  const ctx = ctx0.with(values);
  const r = await (await ctx.client()).unary<{ ok: boolean; checked: number; firstBadSeq: number; reason: string }>('History', 'Verify', {});
  if (ctx.globals.json) ctx.stdout(json(r));
  else
    ctx.stdout(
      keyValues([
        ['chain', r.ok ? 'intact' : 'BROKEN'],
        ['events checked', String(r.checked)],
        ...(r.ok ? [] : ([['first bad seq', String(r.firstBadSeq)], ['reason', r.reason]] as const)),
      ]),
    );
  return r.ok ? 0 : 1;
}

export async function replay(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand<{ from?: string; to?: string; step?: boolean }>(argv, { from: { type: 'string' }, to: { type: 'string' }, step: { type: 'boolean' } });
  noPositionals(positionals);
  const ctx = ctx0.with(values);
  const client = await ctx.client();
  for await (const s of client.stream<{ event: Event; changes: Change[] }>('History', 'Replay', { from: values.from ?? '', to: values.to ?? '' })) {
    if (ctx.globals.json) {
      ctx.stdout(eventJson(s.event).replace(/}\n$/, `,"changes":${JSON.stringify(s.changes)}}\n`));
      continue;
    }
    ctx.stdout(eventLine(s.event));
    for (const c of s.changes) ctx.stdout(`    ${c.id}: ${c.kind}${c.fromStatus || c.toStatus ? ` ${c.fromStatus || '-'} -> ${c.toStatus || '-'}` : ''}${c.kind === 'exited' ? ` (exit ${c.exitCode})` : ''}${c.detail ? ` ${c.detail}` : ''}\n`);
    if (values.step && process.stdin.isTTY) await new Promise((r) => process.stdin.once('data', r));
  }
  return 0;
}
