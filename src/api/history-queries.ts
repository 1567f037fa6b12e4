// The questions History answers, over the log and the projections, free of gRPC: one
// container's timeline, the audit trail with the facts each request produced, and a
// step-by-step replay. history-service.ts turns their results into messages.
import type { EventLog } from '../events/event-log.js';
import type { Point } from './point.js';
import type { Envelope } from '../events/schemas.js';
import { apply, diffContainer, fold, initialState, readHistory, stateAt, type Change, type ContainerView, type State } from '../projections/index.js';
import { containerKey } from '../projections/state.js';

/** One container's events, each with that container as it was after it (undefined once deleted). */
export async function* timeline(log: EventLog, ns: string, id: string, signal?: AbortSignal): AsyncGenerator<{ event: Envelope; after: ContainerView | undefined }> {
  // A container's state depends only on its own events, so folding those alone is exact.
  // After a compaction its archived events are summed up by the state at the horizon.
  let state: State = log.horizon > 1 ? await stateAt(log, log.horizon - 1) : initialState();
  const key = containerKey(ns, id);
  for await (const e of log.read({ ns, id, ...(signal ? { signal } : {}) })) {
    state = fold(state, [e]);
    yield { event: e, after: state.containers[key] };
  }
}

/** The seq a point names: a seq clamped to the head, or the last event at or before a time; '' is the head (or 0). */
export async function seqAt(log: EventLog, p: Point, emptyMeans: 'head' | 'start' = 'head'): Promise<number> {
  if (p.kind === 'head') return emptyMeans === 'head' ? log.head().seq : 0;
  if (p.kind === 'seq') return Math.min(p.seq, log.head().seq);
  return log.seqAtTime(p.ts);
}

/** The first seq at or after a point: the seq itself, or the first event with ts >= a time. */
export async function firstSeqAt(log: EventLog, p: Point): Promise<number> {
  if (p.kind === 'head') return log.head().seq;
  if (p.kind === 'seq') return p.seq;
  return (await log.seqAtTime(p.ts - 1)) + 1;
}

export const OUTCOME_OF = { RequestCompleted: 'completed', RequestFailed: 'failed', RequestDenied: 'denied' } as const;
export type Outcome = (typeof OUTCOME_OF)[keyof typeof OUTCOME_OF];
export type RequestRecord = Extract<Envelope, { type: keyof typeof OUTCOME_OF }>;
const isRequestRecord = (e: Envelope): e is RequestRecord => e.type in OUTCOME_OF;

export interface AuditFilter {
  actor?: string;
  op?: string;
  outcome?: Outcome;
  ns?: string;
  id?: string;
  /** Records with seq >= fromSeq and <= toSeq. */
  fromSeq: number;
  toSeq: number;
  limit: number;
}

export interface AuditEntry {
  request: RequestRecord;
  outcome: Outcome;
  facts: Envelope[];
}

const matches = (f: AuditFilter, e: RequestRecord): boolean =>
  !(f.actor && e.actor !== f.actor) &&
  !(f.op && e.data.op !== f.op) &&
  !(f.outcome && OUTCOME_OF[e.type] !== f.outcome) &&
  !(f.ns && e.ns !== f.ns) &&
  !(f.id && e.id !== f.id);

/** Request records matching `f`, in seq order, with their facts; `more` when the limit cut it. */
export async function audit(log: EventLog, f: AuditFilter): Promise<{ entries: AuditEntry[]; more: boolean }> {
  if (!f.actor) return scanAudit(log, f);
  // The actor index covers what the log holds; compacted history is scanned in its archives.
  const archived = f.fromSeq < log.horizon ? await scanAudit(log, { ...f, toSeq: Math.min(f.toSeq, log.horizon - 1) }) : { entries: [], more: false };
  if (archived.more || f.toSeq < log.horizon) return archived;
  const rest = await auditOneActor(log, { ...f, fromSeq: Math.max(f.fromSeq, log.horizon), limit: f.limit - archived.entries.length }, f.actor);
  return { entries: [...archived.entries, ...rest.entries], more: rest.more };
}

/** Every event over the range (archives included), matching request records to their facts. */
async function scanAudit(log: EventLog, f: AuditFilter): Promise<{ entries: AuditEntry[]; more: boolean }> {
  const entries: AuditEntry[] = [];
  // A request's facts are committed in the same batch, just before its record, so a
  // short look-behind before fromSeq finds the facts of the first record in range.
  const pending = new Map<string, Envelope[]>();
  for await (const chunk of readHistory(log, Math.max(1, f.fromSeq - 1000), f.toSeq)) {
    for (const e of chunk) {
      if (!isRequestRecord(e)) {
        if (e.req) pending.set(e.req, [...(pending.get(e.req) ?? []), e]);
        if (pending.size > 10_000) pending.delete(pending.keys().next().value!);
        continue;
      }
      const facts = e.req ? (pending.get(e.req) ?? []) : [];
      if (e.req) pending.delete(e.req);
      if (e.seq < f.fromSeq || !matches(f, e)) continue;
      if (entries.length === f.limit) return { entries, more: true };
      entries.push({ request: e, outcome: OUTCOME_OF[e.type], facts });
    }
  }
  return { entries, more: false };
}

/** One actor's records through the actor index; each record's facts are the events just before it. */
async function auditOneActor(log: EventLog, f: AuditFilter, actor: string): Promise<{ entries: AuditEntry[]; more: boolean }> {
  const entries: AuditEntry[] = [];
  for await (const e of log.readRequestsByActor(actor, f.fromSeq, f.toSeq)) {
    if (!isRequestRecord(e) || !matches(f, e)) continue;
    if (entries.length === f.limit) return { entries, more: true };
    entries.push({ request: e, outcome: OUTCOME_OF[e.type], facts: e.req ? await log.factsOf(e.seq, e.req) : [] });
  }
  return { entries, more: false };
}

/** Events over [fromSeq, toSeq], each with the change it made to its container. */
export async function* replay(log: EventLog, fromSeq: number, toSeq: number, signal?: AbortSignal): AsyncGenerator<{ event: Envelope; changes: Change[] }> {
  let state = await stateAt(log, fromSeq - 1);
  for await (const chunk of readHistory(log, fromSeq, toSeq, signal)) {
    for (const e of chunk) {
      const key = containerKey(e.ns, e.id);
      const before = state.containers[key];
      state = fold(state, []);
      apply(state, e);
      yield { event: e, changes: diffContainer(before, state.containers[key]) };
    }
  }
}
