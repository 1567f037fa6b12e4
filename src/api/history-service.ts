// chronicle.v1.History (DESIGN section 9): the log's second life. The state at any seq or
// time (newest snapshot at or before it plus a fold forward), one container's timeline,
// the difference between two points, the audit trail with the facts each request
// produced, chain verification, and a step-by-step replay. Reads only: nothing here
// appends, so it also serves a log whose chain is broken.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { z } from 'zod';
import { ChronicleError } from '../errors.js';
import type { EventLog } from '../events/event-log.js';
import { Id, type Envelope } from '../events/schemas.js';
import { apply, diffContainer, diffStates, fold, initialState, stateAt, type Change, type State } from '../projections/index.js';
import { containerKey } from '../projections/state.js';
import { containerMessage } from './container-service.js';
import { toEventMessage, type EventMessage } from './event-message.js';
import { serverStream, unary, type HandlerEnv } from './handler.js';
import { parsePoint } from './point.js';
import { parseRequest } from './requests.js';

const PointSpec = z.string().max(64, 'must be at most 64 characters');
const StateAtRequest = z.object({ at: PointSpec });
const TimelineRequest = z.object({ id: Id });
const DiffRequest = z.object({ from: PointSpec, to: PointSpec });
const ReplayRequest = z.object({ from: PointSpec, to: PointSpec });
const VerifyRequest = z.object({ fromSeq: z.number().int().nonnegative(), toSeq: z.number().int().nonnegative() });
const Outcome = z.enum(['', 'completed', 'failed', 'denied']);
const AuditRequest = z.object({
  actor: z.string().max(256),
  op: z.string().max(64),
  outcome: Outcome,
  namespace: z.union([z.literal(''), Id]),
  id: z.union([z.literal(''), Id]),
  since: PointSpec,
  until: PointSpec,
  limit: z.number().int().nonnegative().max(10_000, 'at most 10000 records a page'),
  pageToken: z.union([z.literal(''), z.string().regex(/^\d+$/, 'must be the next_page_token of a previous page')]),
});

const OUTCOME_OF = { RequestCompleted: 'completed', RequestFailed: 'failed', RequestDenied: 'denied' } as const;
type RequestRecord = Extract<Envelope, { type: keyof typeof OUTCOME_OF }>;
const isRequestRecord = (e: Envelope): e is RequestRecord => e.type in OUTCOME_OF;
const DEFAULT_AUDIT_PAGE = 100;

interface ChangeMessage {
  namespace: string;
  id: string;
  kind: string;
  fromStatus: string;
  toStatus: string;
  exitCode: number;
  detail: string;
}

function changeMessage(c: Change): ChangeMessage {
  return { namespace: c.ns, id: c.id, kind: c.kind, fromStatus: c.fromStatus, toStatus: c.toStatus, exitCode: c.exitCode ?? 0, detail: c.detail };
}

/** The seq a point names: a seq clamped to the head, or the last event at or before a time. */
async function resolve(log: EventLog, spec: string, field: string, emptyMeans: 'head' | 'start' = 'head'): Promise<number> {
  const p = parsePoint(spec, Date.now(), field);
  if (p.kind === 'head') return emptyMeans === 'head' ? log.head().seq : 0;
  if (p.kind === 'seq') return Math.min(p.seq, log.head().seq);
  return log.seqAtTime(p.ts);
}

export function historyService(env: HandlerEnv, log: EventLog): UntypedServiceImplementation {
  return {
    StateAt: unary(env, 'history.StateAt', async (raw) => {
      const req = parseRequest(StateAtRequest, raw);
      const state = await stateAt(log, await resolve(log, req.at, 'at'));
      return { seq: state.seq, ts: state.ts, containers: Object.values(state.containers).map(containerMessage) };
    }),

    Timeline: serverStream<{ event: EventMessage; after?: Record<string, unknown> }>(env, 'history.Timeline', async (raw, ctx, write, signal) => {
      const req = parseRequest(TimelineRequest, raw);
      // One container's own events, each with that container as it was after it. Its
      // state depends only on its own events, so the fold needs nothing else.
      let state: State = initialState();
      const key = containerKey(ctx.ns, req.id);
      for await (const e of log.read({ ns: ctx.ns, id: req.id, signal })) {
        state = fold(state, [e]);
        const after = state.containers[key];
        await write({ event: toEventMessage(e), ...(after ? { after: containerMessage(after) } : {}) });
      }
    }),

    Diff: unary(env, 'history.Diff', async (raw) => {
      const req = parseRequest(DiffRequest, raw);
      const fromSeq = await resolve(log, req.from, 'from', 'start');
      const toSeq = await resolve(log, req.to, 'to');
      if (fromSeq > toSeq) throw new ChronicleError('INVALID_ARGUMENT', `invalid to: it is before from (seq ${toSeq} < ${fromSeq})`, { field: 'to' });
      const [a, b] = await Promise.all([stateAt(log, fromSeq), stateAt(log, toSeq)]);
      return { fromSeq, toSeq, changes: diffStates(a, b).map(changeMessage) };
    }),

    Audit: unary(env, 'history.Audit', async (raw) => {
      const req = parseRequest(AuditRequest, raw);
      const since = req.since ? await resolve(log, req.since, 'since') : 0;
      const until = req.until ? await resolve(log, req.until, 'until') : log.head().seq;
      // A page token is the seq to continue after; a time bound `since` means after it.
      const fromSeq = Math.max(req.pageToken ? Number(req.pageToken) + 1 : 1, req.since ? since + 1 : 1);
      const limit = req.limit || DEFAULT_AUDIT_PAGE;
      const records: { request: EventMessage; outcome: string; facts: EventMessage[] }[] = [];
      // A request's facts are committed in the same batch, just before its record.
      const pending = new Map<string, Envelope[]>();
      let last = 0;
      for await (const e of log.read({ fromSeq: Math.max(1, fromSeq - 1000), toSeq: until })) {
        if (!isRequestRecord(e)) {
          if (e.req) pending.set(e.req, [...(pending.get(e.req) ?? []), e]);
          if (pending.size > 10_000) pending.delete(pending.keys().next().value!);
          continue;
        }
        const outcome = OUTCOME_OF[e.type];
        const facts = e.req ? (pending.get(e.req) ?? []) : [];
        if (e.req) pending.delete(e.req);
        if (e.seq < fromSeq) continue;
        if (req.actor && e.actor !== req.actor) continue;
        if (req.op && e.data.op !== req.op) continue;
        if (req.outcome && outcome !== req.outcome) continue;
        if (req.namespace && e.ns !== req.namespace) continue;
        if (req.id && e.id !== req.id) continue;
        if (records.length === limit) return { records, nextPageToken: String(last) };
        records.push({ request: toEventMessage(e), outcome, facts: facts.map(toEventMessage) });
        last = e.seq;
      }
      return { records, nextPageToken: '' };
    }),

    Verify: unary(env, 'history.Verify', async (raw) => {
      const req = parseRequest(VerifyRequest, raw);
      const r = await log.verify({ ...(req.fromSeq ? { fromSeq: req.fromSeq } : {}), ...(req.toSeq ? { toSeq: req.toSeq } : {}) });
      return r.ok ? { ok: true, checked: r.checked, firstBadSeq: 0, reason: '' } : { ok: false, checked: r.checked, firstBadSeq: r.seq, reason: r.reason };
    }),

    Replay: serverStream<{ event: EventMessage; changes: ChangeMessage[] }>(env, 'history.Replay', async (raw, _ctx, write, signal) => {
      const req = parseRequest(ReplayRequest, raw);
      const fromSeq = Math.max(1, await resolve(log, req.from, 'from', 'start'));
      const toSeq = await resolve(log, req.to, 'to');
      let state = await stateAt(log, fromSeq - 1);
      for await (const e of log.read({ fromSeq, toSeq, signal })) {
        const key = containerKey(e.ns, e.id);
        const before = state.containers[key];
        state = fold(state, []);
        apply(state, e);
        await write({ event: toEventMessage(e), changes: diffContainer(before, state.containers[key]).map(changeMessage) });
      }
    }),
  };
}
