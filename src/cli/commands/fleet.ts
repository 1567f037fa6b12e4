// `chronicle fleet ...`: the fleet's events as every node exported them to NATS JetStream,
// read straight from the stream (no daemon needed): nodes, events, state at a time (each
// node's events folded with the same evolve code as a daemon's), audit, and verify.
import type { NatsConnection } from '@nats-io/transport-node';
import { containerMessage } from '../../api/container-service.js';
import { toEventMessage } from '../../api/event-message.js';
import { parsePoint } from '../../api/point.js';
import type { Envelope } from '../../events/schemas.js';
import { ContinuityChecker, type Continuity } from '../../fleet/continuity.js';
import { connectNats } from '../../fleet/nats-connect.js';
import { fleetNodes, readFleet, type FleetRecord } from '../../fleet/reader.js';
import { fold, initialState, type State } from '../../projections/index.js';
import { parseCommand, parseEventFilters, UsageError } from '../args.js';
import { json, type Ctx } from '../context.js';
import type { Container } from '../messages.js';
import { isoTime, keyValues, table } from '../table.js';
import { psTable } from './container.js';
import { eventLine } from './events.js';

const NATS_OPTIONS = {
  nats: { type: 'string' },
  stream: { type: 'string' },
  'nats-creds': { type: 'string' },
  'nats-user': { type: 'string' },
  'nats-pass': { type: 'string' },
  'nats-token': { type: 'string' },
  'nats-tls-ca': { type: 'string' },
} as const;

interface NatsValues {
  nats?: string;
  stream?: string;
  'nats-creds'?: string;
  'nats-user'?: string;
  'nats-pass'?: string;
  'nats-token'?: string;
  'nats-tls-ca'?: string;
}

const REQUESTS = new Set(['RequestCompleted', 'RequestFailed', 'RequestDenied']);
const OUTCOME: Readonly<Record<string, string>> = { RequestCompleted: 'completed', RequestFailed: 'failed', RequestDenied: 'denied' };

/** The subcommand may come after the NATS flags (`fleet --nats URL nodes`): find it. */
function splitSubcommand(argv: readonly string[]): { sub: string | undefined; rest: string[] } {
  const takesValue = new Set(Object.keys(NATS_OPTIONS).map((k) => `--${k}`));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (takesValue.has(a)) i++;
    else if (!a.startsWith('-')) return { sub: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { sub: undefined, rest: [...argv] };
}

export async function fleet(ctx: Ctx, argv: string[]): Promise<number> {
  const { sub, rest } = splitSubcommand(argv);
  switch (sub) {
    case 'nodes':
      return nodes(ctx, rest);
    case 'events':
      return events(ctx, rest);
    case 'state':
      return state(ctx, rest);
    case 'audit':
      return audit(ctx, rest);
    case 'verify':
      return verify(ctx, rest);
    default:
      throw new UsageError(sub === undefined ? 'fleet needs a subcommand: nodes, events, state, audit or verify' : `unknown fleet subcommand ${JSON.stringify(sub)}`);
  }
}

async function withNats<T>(v: NatsValues, fn: (nc: NatsConnection, stream: string) => Promise<T>): Promise<T> {
  const servers = (v.nats ?? process.env['CHRONICLE_NATS'] ?? 'nats://127.0.0.1:4222').split(',').filter(Boolean);
  const nc = await connectNats(
    {
      servers,
      tlsCa: v['nats-tls-ca'] ?? process.env['CHRONICLE_NATS_TLS_CA'],
      creds: v['nats-creds'] ?? process.env['CHRONICLE_NATS_CREDS'],
      user: v['nats-user'] ?? process.env['CHRONICLE_NATS_USER'],
      pass: v['nats-pass'] ?? process.env['CHRONICLE_NATS_PASS'],
      token: v['nats-token'] ?? process.env['CHRONICLE_NATS_TOKEN'],
      name: 'chronicle fleet',
    },
    { waitOnFirstConnect: false },
  );
  try {
    return await fn(nc, v.stream ?? process.env['CHRONICLE_NATS_STREAM'] ?? 'CHRONICLE');
  } finally {
    await nc.close();
  }
}

function noPositionals(list: readonly string[]): void {
  if (list.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(list[0])}`);
}

async function nodes(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand<NatsValues>(argv, NATS_OPTIONS);
  noPositionals(positionals);
  const ctx = ctx0.with(values);
  const list = await withNats(values, (nc, stream) => fleetNodes(nc, stream));
  if (ctx.globals.json) ctx.stdout(json(list));
  else {
    const rows = list.map((n) => [n.node, String(n.messages), String(n.status?.headSeq ?? '-'), String(n.status?.exportedSeq ?? '-'), String(n.status?.lag ?? '-'), n.status ? isoTime(n.status.at) : '-']);
    ctx.stdout(table(['NODE', 'EVENTS', 'HEAD', 'EXPORTED', 'LAG', 'LAST SEEN'], rows));
  }
  return 0;
}

/** `--since`: a seq (per node) or a time; events before it are skipped. */
function sinceOf(spec: string | undefined): { seq?: number; ts?: number } {
  if (spec === undefined) return {};
  const p = parsePoint(spec, Date.now(), 'since');
  if (p.kind === 'seq') return { seq: p.seq };
  if (p.kind === 'time') return { ts: p.ts };
  return {};
}

function matchesFilters(e: Envelope, filters: readonly string[]): boolean {
  return filters.every((f) => {
    const i = f.indexOf('=');
    const k = f.slice(0, i);
    const v = f.slice(i + 1);
    return k === 'ns' ? e.ns === v : k === 'id' ? e.id === v : e.type === v;
  });
}

async function events(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand<NatsValues & { node?: string; since?: string; follow?: boolean; filter?: string[] }>(argv, {
    ...NATS_OPTIONS,
    node: { type: 'string' },
    since: { type: 'string' },
    follow: { type: 'boolean', short: 'f' },
    filter: { type: 'string', multiple: true },
  });
  noPositionals(positionals);
  const ctx = ctx0.with(values);
  const filters = parseEventFilters(values.filter);
  const since = sinceOf(values.since);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await withNats(values, async (nc, stream) => {
      const read = readFleet(nc, stream, { ...(values.node ? { node: values.node } : {}), ...(since.ts !== undefined ? { fromTime: since.ts } : {}), follow: values.follow ?? false, signal: stop.signal });
      for await (const r of read) {
        const e = r.event;
        if (!e || (since.seq !== undefined && e.seq < since.seq) || (since.ts !== undefined && e.ts < since.ts) || !matchesFilters(e, filters)) continue;
        const m = toEventMessage(e);
        ctx.stdout(ctx.globals.json ? JSON.stringify({ node: r.node, ...m, time: isoTime(e.ts), data: e.data }) + '\n' : `${r.node} ${eventLine(m)}`);
      }
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}

async function state(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand<NatsValues & { node?: string; at?: string }>(argv, { ...NATS_OPTIONS, node: { type: 'string' }, at: { type: 'string' } });
  noPositionals(positionals);
  const ctx = ctx0.with(values);
  const at = parsePoint(values.at ?? '', Date.now(), 'at');
  if (at.kind === 'seq' && !values.node) throw new UsageError('fleet state --at SEQ needs --node (a seq is one node\'s)');
  // Each node's events arrive in its seq order, so its state at the point is a fold of a prefix.
  const states = new Map<string, State>();
  await withNats(values, async (nc, stream) => {
    for await (const r of readFleet(nc, stream, values.node ? { node: values.node } : {})) {
      const e = r.event;
      if (!e) continue;
      if ((at.kind === 'seq' && e.seq > at.seq) || (at.kind === 'time' && e.ts > at.ts)) continue;
      states.set(r.node, fold(states.get(r.node) ?? initialState(), [e]));
    }
  });
  const out = [...states.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([node, s]) => ({ node, seq: s.seq, ts: s.ts, containers: Object.values(s.containers).map(containerMessage) }));
  if (ctx.globals.json) ctx.stdout(json({ nodes: out }));
  else for (const n of out) ctx.stdout(`node ${n.node}: state after seq ${n.seq} (${isoTime(n.ts)})\n` + psTable(n.containers as unknown as Container[], n.ts || Date.now()) + '\n');
  return 0;
}

async function audit(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand<NatsValues & { node?: string; actor?: string; op?: string; failed?: boolean; denied?: boolean; since?: string; until?: string }>(argv, {
    ...NATS_OPTIONS,
    node: { type: 'string' },
    actor: { type: 'string' },
    op: { type: 'string' },
    failed: { type: 'boolean' },
    denied: { type: 'boolean' },
    since: { type: 'string' },
    until: { type: 'string' },
  });
  noPositionals(positionals);
  if (values.failed && values.denied) throw new UsageError('--failed and --denied exclude each other');
  const ctx = ctx0.with(values);
  const since = sinceOf(values.since);
  const until = values.until ? parsePoint(values.until, Date.now(), 'until') : undefined;
  const outcome = values.failed ? 'failed' : values.denied ? 'denied' : undefined;
  const records: { node: string; e: Envelope }[] = [];
  await withNats(values, async (nc, stream) => {
    for await (const r of readFleet(nc, stream, { ...(values.node ? { node: values.node } : {}), ...(since.ts !== undefined ? { fromTime: since.ts } : {}) })) {
      const e = r.event;
      if (!e || !REQUESTS.has(e.type)) continue;
      const data = e.data as { op?: string };
      if (values.actor && e.actor !== values.actor) continue;
      if (values.op && data.op !== values.op) continue;
      if (outcome && OUTCOME[e.type] !== outcome) continue;
      if ((since.seq !== undefined && e.seq < since.seq) || (since.ts !== undefined && e.ts < since.ts)) continue;
      if (until && ((until.kind === 'seq' && e.seq > until.seq) || (until.kind === 'time' && e.ts > until.ts))) continue;
      records.push({ node: r.node, e });
    }
  });
  if (ctx.globals.json) ctx.stdout(json(records.map(({ node, e }) => ({ node, outcome: OUTCOME[e.type], request: toEventMessage(e) }))));
  else {
    const rows = records.map(({ node, e }) => {
      const d = e.data as { op?: string; code?: string };
      return [node, String(e.seq), isoTime(e.ts), e.actor, d.op ?? '-', OUTCOME[e.type] ?? '-', e.ns ? `${e.ns}/${e.id || '-'}` : '-', d.code ?? '-'];
    });
    ctx.stdout(table(['NODE', 'SEQ', 'TIME', 'ACTOR', 'OP', 'OUTCOME', 'CONTAINER', 'CODE'], rows));
  }
  return 0;
}

async function verify(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand<NatsValues & { node?: string }>(argv, { ...NATS_OPTIONS, node: { type: 'string' } });
  noPositionals(positionals);
  const ctx = ctx0.with(values);
  const results = await withNats(values, async (nc, stream) => {
    const checkers = new Map<string, ContinuityChecker>();
    const feed = (r: FleetRecord): void => {
      let c = checkers.get(r.node);
      if (!c) checkers.set(r.node, (c = new ContinuityChecker()));
      c.add(r.value, r.event, r.error, r.streamSeq);
    };
    for await (const r of readFleet(nc, stream, values.node ? { node: values.node } : {})) feed(r);
    if (values.node && !checkers.has(values.node)) checkers.set(values.node, new ContinuityChecker());
    return [...checkers.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([node, c]) => ({ node, ...c.result() }));
  });
  const ok = results.every((r) => r.ok);
  if (ctx.globals.json) ctx.stdout(json(results));
  else
    for (const r of results as (Continuity & { node: string })[]) {
      ctx.stdout(
        keyValues([
          ['node', r.node],
          ['chain', r.ok ? 'intact, no gap, no duplicate' : 'BROKEN'],
          ['events checked', String(r.checked)],
          ...(r.ok ? ([['seqs', r.checked ? `${r.firstSeq}-${r.lastSeq}` : 'none']] as const) : ([['first bad seq', String(r.seq)], ['reason', r.reason], ['stream seq', String(r.streamSeq)]] as const)),
        ]) + '\n',
      );
    }
  return ok ? 0 : 1;
}
