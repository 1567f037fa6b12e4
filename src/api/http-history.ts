// The History service over HTTP for the web timeline: the same questions as
// chronicle.v1.History (history-service.ts), answered by the same functions, as JSON; plus
// the overview the timeline draws and the live event stream (Server-Sent Events, resumable
// by seq). Query parameters are zod schemas: a bad one is INVALID_ARGUMENT naming it.
import type { ServerResponse } from 'node:http';
import * as z from 'zod';
import { ChronicleError, invalidArgument } from '../errors.js';
import { verifyHistory } from '../events/compaction.js';
import type { EventLog } from '../events/event-log.js';
import { Id } from '../events/schemas.js';
import { decodeSnapshot, diffStates, foldLog, stateAt, type Change, type ContainerView, type State } from '../projections/index.js';
import { taskStatus } from './container-service.js';
import { toEventMessage } from './event-message.js';
import { audit, firstSeqAt, seqAt, timeline } from './history-queries.js';
import type { AuditWire, ChangeWire, ContainerWire, DiffWire, EventWire, HeadWire, LiveEventWire, OverviewMessage, StateAtWire, TimelineWire, VerifyWire } from './http-wire.js';
import { annotated, Overview } from './overview.js';
import { parsePoint } from './point.js';

const PointSpec = z.string().max(64, 'must be at most 64 characters');
const SeqParam = z.string().regex(/^\d{1,15}$/, 'must be a seq (a non-negative integer)');
const Namespace = Id;
const StateAtQuery = z.strictObject({ at: PointSpec.default(''), since: PointSpec.optional() });
const DiffQuery = z.strictObject({ from: PointSpec.default(''), to: PointSpec.default('') });
const TimelineQuery = z.strictObject({ ns: Namespace.default('default'), id: Id });
const AuditQuery = z.strictObject({
  actor: z.string().max(256).optional(),
  op: z.string().max(64).optional(),
  outcome: z.enum(['completed', 'failed', 'denied']).optional(),
  ns: Namespace.optional(),
  id: Id.optional(),
  since: PointSpec.optional(),
  until: PointSpec.optional(),
  limit: z.string().regex(/^\d{1,5}$/, 'must be a number').transform(Number).pipe(z.number().int().min(1).max(10_000, 'at most 10000 records a page')).optional(),
  pageToken: SeqParam.optional(),
});
const VerifyQuery = z.strictObject({ fromSeq: SeqParam.optional(), toSeq: SeqParam.optional() });
const EventsQuery = z.strictObject({
  from: SeqParam.optional(),
  ns: Namespace.optional(),
  id: Id.optional(),
  follow: z.enum(['0', '1', 'true', 'false']).optional(),
});
const Empty = z.strictObject({});

/** Parses the query string with `schema`, or throws INVALID_ARGUMENT naming the parameter. */
function query<T extends z.ZodType>(schema: T, params: URLSearchParams): z.infer<T> {
  const raw: Record<string, string> = {};
  for (const [k, v] of params) {
    if (Object.hasOwn(raw, k)) throw new ChronicleError('INVALID_ARGUMENT', `invalid ${k}: given more than once`, { field: k });
    raw[k] = v;
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    // An unknown parameter is reported by its own name, not as the object's.
    if (issue?.code === 'unrecognized_keys') throw new ChronicleError('INVALID_ARGUMENT', `unknown parameter ${issue.keys[0]}`, { field: issue.keys[0] ?? '' });
    throw invalidArgument(r.error.issues);
  }
  return r.data;
}

function changeWire(c: Change): ChangeWire {
  return { namespace: c.ns, id: c.id, kind: c.kind, fromStatus: c.fromStatus, toStatus: c.toStatus, exitCode: c.exitCode ?? 0, detail: c.detail };
}

/** A container as the page shows it: chronicle.v1.Container without the spec (args, env, bundle). */
function containerWire(c: ContainerView): ContainerWire {
  const t = c.task;
  return {
    id: c.id,
    namespace: c.ns,
    runtime: c.runtime,
    labels: c.labels,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    ...(t ? { task: taskStatus(t) } : {}),
  };
}
const eventWire = (e: Parameters<typeof toEventMessage>[0]): EventWire => toEventMessage(e);

/**
 * States by seq, most recently used last. A state at a seq never changes (the fold copies),
 * so scrubbing back and forth over the timeline folds each point once, and a new point
 * folds forward from the nearest state already known between it and the snapshot before
 * it (or from that snapshot, decoded once): a move near the last one folds a few events.
 */
class StateCache {
  readonly #states = new Map<number, Promise<State>>();
  /** The states of #states that are computed, by seq. */
  readonly #done = new Map<number, State>();
  readonly #snapshots = new Map<number, State>();
  constructor(
    private readonly log: EventLog,
    private readonly size = 64,
  ) {}

  at(seq: number): Promise<State> {
    const target = Math.max(0, Math.min(seq, this.log.head().seq));
    const hit = this.#states.get(target);
    if (hit) {
      this.#states.delete(target);
      this.#states.set(target, hit);
      return hit;
    }
    const p = this.#compute(target);
    p.then(
      (state) => this.#states.get(target) === p && this.#done.set(target, state),
      () => this.#states.delete(target),
    );
    this.#states.set(target, p);
    if (this.#states.size > this.size) {
      const oldest = this.#states.keys().next().value!;
      this.#states.delete(oldest);
      this.#done.delete(oldest);
    }
    return p;
  }

  async #compute(target: number): Promise<State> {
    const log = this.log;
    // Compacted history and a log without snapshots: as History answers it.
    if (target < log.horizon) return stateAt(log, target);
    const snap = await log.snapshotAtOrBefore(target);
    if (!snap || snap.seq < log.horizon - 1) return stateAt(log, target);
    let base: State | undefined;
    for (const [s, state] of this.#done) if (s >= snap.seq && s <= target && (!base || s > base.seq)) base = state;
    if (!base) {
      base = this.#snapshots.get(snap.seq);
      if (!base) {
        try {
          base = decodeSnapshot(snap.bytes);
        } catch {
          return stateAt(log, target); // a bad snapshot: History skips it, and so do we
        }
        this.#snapshots.set(snap.seq, base);
        if (this.#snapshots.size > 8) this.#snapshots.delete(this.#snapshots.keys().next().value!);
      }
    }
    return (await foldLog(log, base, target)).state;
  }
}

/** Resolves when `res` can take more, or when the request is gone. */
function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

export interface HistoryRoutes {
  /** Folds the overview ahead of the first page load (in chunks: the event loop stays free). */
  warm: (signal: AbortSignal) => Promise<unknown>;
  json: Readonly<Record<string, (params: URLSearchParams, signal: AbortSignal) => Promise<unknown>>>;
  /** GET /api/events: Server-Sent Events from `from` (or Last-Event-ID + 1). */
  events: (params: URLSearchParams, lastEventId: string | undefined, res: ServerResponse, signal: AbortSignal) => Promise<void>;
}

export function historyRoutes(log: EventLog, now: () => number = Date.now): HistoryRoutes {
  const cache = new StateCache(log);
  const folded = new Overview(log);

  const resolve = (spec: string, field: string, emptyMeans: 'head' | 'start' = 'head'): Promise<number> => seqAt(log, parsePoint(spec, now(), field), emptyMeans);
  const firstFrom = (spec: string, field: string): Promise<number> => firstSeqAt(log, parsePoint(spec, now(), field));

  const json: HistoryRoutes['json'] = {
    '/api/head': async (params): Promise<HeadWire> => {
      query(Empty, params);
      const h = log.head();
      return { seq: h.seq, ts: h.ts, hash: h.hash };
    },

    '/api/overview': async (params, signal): Promise<OverviewMessage> => {
      query(Empty, params);
      return folded.get(signal);
    },

    '/api/state-at': async (params): Promise<StateAtWire> => {
      const q = query(StateAtQuery, params);
      const seq = await resolve(q.at, 'at');
      const state = await cache.at(seq);
      const out: StateAtWire = { seq: state.seq, ts: state.ts, containers: Object.values(state.containers).map(containerWire) };
      if (q.since === undefined) return out;
      // Either direction: what a user sees change when the cursor moves from `since` to `at`.
      const before = await cache.at(await resolve(q.since, 'since', 'start'));
      return { ...out, sinceSeq: before.seq, changes: diffStates(before, state).map(changeWire) };
    },

    '/api/diff': async (params): Promise<DiffWire> => {
      const q = query(DiffQuery, params);
      const fromSeq = await resolve(q.from, 'from', 'start');
      const toSeq = await resolve(q.to, 'to');
      if (fromSeq > toSeq) throw new ChronicleError('INVALID_ARGUMENT', `invalid to: it is before from (seq ${toSeq} < ${fromSeq})`, { field: 'to' });
      const [a, b] = await Promise.all([cache.at(fromSeq), cache.at(toSeq)]);
      return { fromSeq, toSeq, changes: diffStates(a, b).map(changeWire) };
    },

    '/api/timeline': async (params, signal): Promise<TimelineWire> => {
      const q = query(TimelineQuery, params);
      const entries: TimelineWire['entries'] = [];
      for await (const { event, after } of timeline(log, q.ns, q.id, signal)) entries.push({ event: eventWire(event), ...(after ? { after: containerWire(after) } : {}) });
      return { entries };
    },

    '/api/audit': async (params): Promise<AuditWire> => {
      const q = query(AuditQuery, params);
      const since = q.since ? await firstFrom(q.since, 'since') : 1;
      const fromSeq = Math.max(q.pageToken ? Number(q.pageToken) + 1 : 1, since);
      const toSeq = q.until ? await resolve(q.until, 'until') : log.head().seq;
      const { entries, more } = await audit(log, {
        fromSeq,
        toSeq,
        limit: q.limit ?? 100,
        ...(q.actor ? { actor: q.actor } : {}),
        ...(q.op ? { op: q.op } : {}),
        ...(q.outcome ? { outcome: q.outcome } : {}),
        ...(q.ns ? { ns: q.ns } : {}),
        ...(q.id ? { id: q.id } : {}),
      });
      return {
        records: entries.map((x) => ({ request: eventWire(x.request), outcome: x.outcome, facts: x.facts.map(eventWire) })),
        nextPageToken: more ? String(entries.at(-1)!.request.seq) : '',
      };
    },

    '/api/verify': async (params, signal): Promise<VerifyWire> => {
      const q = query(VerifyQuery, params);
      const fromSeq = Number(q.fromSeq ?? 0);
      const toSeq = Number(q.toSeq ?? 0);
      if (fromSeq && toSeq && fromSeq > toSeq) throw new ChronicleError('INVALID_ARGUMENT', `invalid toSeq: it is before fromSeq`, { field: 'toSeq' });
      const r = await verifyHistory(log, { ...(fromSeq ? { fromSeq } : {}), ...(toSeq ? { toSeq } : {}), signal });
      return r.ok ? { ok: true, checked: r.checked, firstBadSeq: 0, reason: '' } : { ok: false, checked: r.checked, firstBadSeq: r.seq, reason: r.reason };
    },
  };

  const events: HistoryRoutes['events'] = async (params, lastEventId, res, signal) => {
    const q = query(EventsQuery, params);
    // A reconnecting EventSource says where it was: resume just after it.
    const resumeAfter = lastEventId !== undefined && /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : undefined;
    const fromSeq = resumeAfter !== undefined ? resumeAfter + 1 : Number(q.from ?? log.head().seq + 1);
    const follow = q.follow === undefined || q.follow === '1' || q.follow === 'true';
    const stream = annotated(log, { fromSeq, follow, filter: { ...(q.ns ? { ns: q.ns } : {}), ...(q.id ? { id: q.id, ns: q.ns ?? 'default' } : {}) }, signal });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write(`: chronicle events from seq ${fromSeq}\nretry: 1000\n\n`);
    // A comment every 15 s keeps proxies from closing an idle stream.
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    try {
      for await (const a of stream) {
        const wire: LiveEventWire = { event: eventWire(a.event), marks: a.marks, ...(a.labels ? { labels: a.labels } : {}) };
        if (!res.write(`id: ${a.event.seq}\nevent: event\ndata: ${JSON.stringify(wire)}\n\n`)) await drained(res, signal);
      }
      if (!follow) res.write('event: end\ndata: {}\n\n');
    } catch (e) {
      if (signal.aborted) return;
      // The status line is gone: say it in the stream, then end it.
      const code = e instanceof ChronicleError ? e.code : 'INTERNAL';
      res.write(`event: error\ndata: ${JSON.stringify({ error: { code, message: e instanceof ChronicleError ? e.message : 'internal error' } })}\n\n`);
      if (!(e instanceof ChronicleError)) throw e;
    } finally {
      clearInterval(keepAlive);
      res.end();
    }
  };

  return { warm: (signal) => folded.get(signal), json, events };
}
