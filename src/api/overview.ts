// What the web timeline draws, computed with the projection itself (never a second state
// machine): for each event, the status its container entered (a span starts there), a
// checkpoint/restore/OOM marker, or a daemon rule. `overview` folds the whole history once;
// `annotated` does the same for the events a live stream sends.
import type { EventLog } from '../events/event-log.js';
import type { Envelope } from '../events/schemas.js';
import { subscribe, type EventFilter } from '../events/subscription.js';
import { apply, fold, initialState, readHistory, stateAt, type ContainerView, type State } from '../projections/index.js';
import { containerKey } from '../projections/state.js';
import type { Mark, MarkCode, OverviewMessage, RowInfo, StatusCode } from './http-wire.js';

function statusOf(c: ContainerView | undefined): StatusCode {
  return c ? (c.task?.status ?? 'created') : 'deleted';
}

const MARKERS: Partial<Record<Envelope['type'], MarkCode>> = {
  TaskCheckpointed: 'checkpoint',
  TaskRestored: 'restore',
  TaskOOM: 'oom',
  DaemonStarted: 'started',
  DaemonRecovered: 'recovered',
  DaemonStopped: 'stopped',
};

/** A status entered, or a marker or rule, with the exit code of an 'exited'. */
export interface Drawn {
  code: MarkCode;
  exitCode: number | null;
}

/**
 * What `e` draws, given its container before and after it: a marker for its type (a
 * restore is also a change of status), and the status entered when the event changed it.
 * A container that never existed draws nothing.
 */
export function marksOf(e: Envelope, before: ContainerView | undefined, after: ContainerView | undefined): Drawn[] {
  const marker = MARKERS[e.type];
  const out: Drawn[] = marker ? [{ code: marker, exitCode: null }] : [];
  if (!before && !after) return out;
  const from = statusOf(before);
  const to = statusOf(after);
  // Deleted and created again in between folds counts as a new incarnation.
  const reborn = before && after && before.createdAt !== after.createdAt;
  const taskReborn = before?.task && after?.task && before.task.createdAt !== after.task.createdAt;
  if (from !== to || reborn || taskReborn) out.push({ code: to, exitCode: to === 'exited' ? (after?.task?.exitCode ?? null) : null });
  return out;
}

const isDaemonEvent = (e: Envelope): boolean => e.id === '' && e.ns === '';

/**
 * Every container ever seen and every mark, folding the history (archives included). The
 * history before the head never changes, so the fold is kept and only the events appended
 * since the previous call are folded into it; calls are serialised.
 */
export class Overview {
  readonly #state: State = fold(initialState(), []);
  readonly #rows: RowInfo[] = [];
  readonly #rowOf = new Map<string, number>();
  readonly #actorsOf: Set<string>[] = [];
  readonly #marks: Mark[] = [];
  #firstTs = 0;
  #busy: Promise<unknown> = Promise.resolve();

  constructor(private readonly log: EventLog) {}

  /** The overview up to the current head. */
  get(signal?: AbortSignal): Promise<OverviewMessage> {
    const next = this.#busy.catch(() => undefined).then(() => this.#update(signal));
    this.#busy = next;
    return next;
  }

  async #update(signal?: AbortSignal): Promise<OverviewMessage> {
    const head = this.log.head();
    // Folded in place: an abort part-way leaves a consistent prefix (seq tells where).
    if (head.seq > this.#state.seq) {
      for await (const chunk of readHistory(this.log, this.#state.seq + 1, head.seq, signal)) for (const e of chunk) this.#fold(e);
    }
    const rows = this.#rows.map((r, i) => ({ ...r, actors: [...this.#actorsOf[i]!].sort() }));
    const marks = this.#marks.slice();
    const last = this.#state.seq === head.seq ? head : { seq: this.#state.seq, ts: this.#state.ts };
    return { head: last.seq, headTs: last.ts, firstTs: this.#firstTs, rows, marks };
  }

  #fold(e: Envelope): void {
    if (this.#firstTs === 0) this.#firstTs = e.ts;
    const state = this.#state;
    const key = containerKey(e.ns, e.id);
    const before = state.containers[key];
    apply(state, e);
    const after = state.containers[key];
    if (isDaemonEvent(e)) {
      for (const m of marksOf(e, undefined, undefined)) this.#marks.push([e.seq, e.ts, -1, m.code, null]);
      return;
    }
    let row = this.#rowOf.get(key);
    if (row === undefined) {
      if (!after) return; // a request about a container that never existed
      row = this.#rows.length;
      this.#rowOf.set(key, row);
      this.#rows.push({ ns: e.ns, id: e.id, labels: {}, actors: [] });
      this.#actorsOf.push(new Set());
    }
    if (after) this.#rows[row]!.labels = after.labels;
    this.#actorsOf[row]!.add(e.actor);
    for (const m of marksOf(e, before, after)) this.#marks.push([e.seq, e.ts, row, m.code, m.exitCode]);
  }
}

export interface Annotated {
  event: Envelope;
  marks: Drawn[];
  labels?: Record<string, string>;
}

/** The events from `fromSeq` on (catch-up, then live with `follow`), each with what it draws. */
export async function* annotated(log: EventLog, opts: { fromSeq: number; follow: boolean; filter?: EventFilter; signal?: AbortSignal }): AsyncGenerator<Annotated> {
  const from = Math.max(1, opts.fromSeq);
  // Unfiltered: the fold needs every event, and the filter applies to what is sent.
  const state: State = fold(await stateAt(log, from - 1), []);
  for await (const e of subscribe(log, { fromSeq: from, follow: opts.follow, ...(opts.signal ? { signal: opts.signal } : {}) })) {
    const key = containerKey(e.ns, e.id);
    const before = state.containers[key];
    apply(state, e);
    if (!matchesFilter(opts.filter, e)) continue;
    const after = state.containers[key];
    const marks = isDaemonEvent(e) ? marksOf(e, undefined, undefined) : marksOf(e, before, after);
    const labelled = after && (e.type === 'ContainerCreated' || e.type === 'ContainerUpdated');
    yield { event: e, marks, ...(labelled ? { labels: after.labels } : {}) };
  }
}

function matchesFilter(f: EventFilter | undefined, e: Envelope): boolean {
  return !f || ((f.ns === undefined || e.ns === f.ns) && (f.id === undefined || e.id === f.id));
}
