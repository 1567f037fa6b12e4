// chronicle.v1.History (DESIGN section 9): the log's second life. The state at any seq or
// time (newest snapshot at or before it plus a fold forward), one container's timeline,
// the difference between two points, the audit trail with the facts each request
// produced, chain verification, and a step-by-step replay. Reads only: nothing here
// appends, so it also serves a log whose chain is broken.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import * as z from 'zod';
import { ChronicleError } from '../errors.js';
import { verifyHistory } from '../events/compaction.js';
import type { EventLog } from '../events/event-log.js';
import { Id } from '../events/schemas.js';
import { diffStates, stateAt, type Change } from '../projections/index.js';
import type { CallContext } from './audit.js';
import { checkpointMessage } from './checkpoint-service.js';
import { containerMessage } from './container-service.js';
import { toEventMessage, type EventMessage } from './event-message.js';
import { serverStream, unary, type HandlerEnv } from './handler.js';
import { audit, firstSeqAt, replay, seqAt, timeline } from './history-queries.js';
import { parsePoint } from './point.js';
import type { ChangeWire } from './http-wire.js';
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

const DEFAULT_AUDIT_PAGE = 100;

/** chronicle.v1.Change, as the CLI, the tests and the web page read it. */
export type ChangeMessage = ChangeWire;

function changeMessage(c: Change): ChangeMessage {
  return { namespace: c.ns, id: c.id, kind: c.kind, fromStatus: c.fromStatus, toStatus: c.toStatus, exitCode: c.exitCode ?? 0, detail: c.detail };
}

/** The seq a point names (history-queries' seqAt), parsed now. */
const resolve = (log: EventLog, spec: string, field: string, emptyMeans: 'head' | 'start' = 'head'): Promise<number> => seqAt(log, parsePoint(spec, Date.now(), field), emptyMeans);

/** A caller confined to some namespaces sees only the one it called in (and global events). */
function visible(ctx: CallContext, ns: string): boolean {
  return !ctx.confined || ns === ctx.ns || ns === '';
}

/** The first seq at or after a point (history-queries' firstSeqAt), parsed now. */
const firstFrom = (log: EventLog, spec: string, field: string): Promise<number> => firstSeqAt(log, parsePoint(spec, Date.now(), field));

export function historyService(env: HandlerEnv, log: EventLog): UntypedServiceImplementation {
  return {
    StateAt: unary(env, 'history.StateAt', async (raw, ctx) => {
      const req = parseRequest(StateAtRequest, raw);
      const state = await stateAt(log, await resolve(log, req.at, 'at'));
      const containers = Object.values(state.containers).filter((c) => visible(ctx, c.ns));
      const checkpoints = Object.values(state.checkpoints)
        .filter((r) => visible(ctx, r.ns))
        .sort((a, b) => a.seq - b.seq);
      return { seq: state.seq, ts: state.ts, containers: containers.map(containerMessage), checkpoints: checkpoints.map(checkpointMessage) };
    }),

    Timeline: serverStream<{ event: EventMessage; after?: Record<string, unknown> }>(env, 'history.Timeline', async (raw, ctx, write, signal) => {
      const req = parseRequest(TimelineRequest, raw);
      for await (const { event, after } of timeline(log, ctx.ns, req.id, signal)) {
        await write({ event: toEventMessage(event), ...(after ? { after: containerMessage(after) } : {}) });
      }
    }),

    Diff: unary(env, 'history.Diff', async (raw, ctx) => {
      const req = parseRequest(DiffRequest, raw);
      const fromSeq = await resolve(log, req.from, 'from', 'start');
      const toSeq = await resolve(log, req.to, 'to');
      if (fromSeq > toSeq) throw new ChronicleError('INVALID_ARGUMENT', `invalid to: it is before from (seq ${toSeq} < ${fromSeq})`, { field: 'to' });
      const [a, b] = await Promise.all([stateAt(log, fromSeq), stateAt(log, toSeq)]);
      return { fromSeq, toSeq, changes: diffStates(a, b).filter((c) => visible(ctx, c.ns)).map(changeMessage) };
    }),

    Audit: unary(env, 'history.Audit', async (raw, ctx) => {
      const req = parseRequest(AuditRequest, raw);
      // A page token is the seq to continue after; `since` is inclusive (seq >= N, ts >= T).
      const since = req.since ? await firstFrom(log, req.since, 'since') : 1;
      const fromSeq = Math.max(req.pageToken ? Number(req.pageToken) + 1 : 1, since);
      const toSeq = req.until ? await resolve(log, req.until, 'until') : log.head().seq;
      const { entries, more } = await audit(log, {
        fromSeq,
        toSeq,
        limit: req.limit || DEFAULT_AUDIT_PAGE,
        ...(req.actor ? { actor: req.actor } : {}),
        ...(req.op ? { op: req.op } : {}),
        ...(req.outcome ? { outcome: req.outcome } : {}),
        ...(ctx.confined ? { ns: ctx.ns } : req.namespace ? { ns: req.namespace } : {}),
        ...(req.id ? { id: req.id } : {}),
      });
      return {
        records: entries.map((x) => ({ request: toEventMessage(x.request), outcome: x.outcome, facts: x.facts.map(toEventMessage) })),
        nextPageToken: more ? String(entries.at(-1)!.request.seq) : '',
      };
    }),

    Verify: unary(env, 'history.Verify', async (raw) => {
      const req = parseRequest(VerifyRequest, raw);
      const r = await verifyHistory(log, { ...(req.fromSeq ? { fromSeq: req.fromSeq } : {}), ...(req.toSeq ? { toSeq: req.toSeq } : {}) });
      return r.ok ? { ok: true, checked: r.checked, firstBadSeq: 0, reason: '' } : { ok: false, checked: r.checked, firstBadSeq: r.seq, reason: r.reason };
    }),

    Replay: serverStream<{ event: EventMessage; changes: ChangeMessage[] }>(env, 'history.Replay', async (raw, ctx, write, signal) => {
      const req = parseRequest(ReplayRequest, raw);
      const fromSeq = Math.max(1, await resolve(log, req.from, 'from', 'start'));
      const toSeq = await resolve(log, req.to, 'to');
      for await (const step of replay(log, fromSeq, toSeq, signal)) {
        if (!visible(ctx, step.event.ns)) continue;
        await write({ event: toEventMessage(step.event), changes: step.changes.map(changeMessage) });
      }
    }),
  };
}
