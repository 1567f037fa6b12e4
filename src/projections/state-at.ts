// Time travel and replay: newest snapshot at or before the target, plus a fold forward in
// chunks (the log reads in chunks of 1000, and one fold per chunk keeps the copy cost low).
// A target before the log's horizon (compacted away) is answered from its archive file: the
// snapshot in the archive's header plus a fold of the archive up to the target.
import { ChronicleError } from '../errors.js';
import { openArchive, readArchives } from '../events/archive.js';
import type { EventLog } from '../events/event-log.js';
import type { Envelope } from '../events/schemas.js';
import { fold } from './evolve.js';
import { decodeSnapshot } from './snapshot.js';
import { initialState, type State } from './state.js';

export interface Loaded {
  state: State;
  snapshotSeq: number;
  replayed: number;
}

/** Folds the events after `from` up to `toSeq` into `from`, a chunk (one copy) at a time. */
export async function foldLog(log: EventLog, from: State, toSeq: number, signal?: AbortSignal): Promise<{ state: State; replayed: number }> {
  let state = from;
  let replayed = 0;
  if (toSeq <= from.seq) return { state, replayed };
  for await (const chunk of log.readChunks({ fromSeq: from.seq + 1, toSeq, ...(signal ? { signal } : {}) })) {
    state = fold(state, chunk);
    replayed += chunk.length;
  }
  return { state, replayed };
}

/**
 * The newest usable snapshot at or before `seq` (a bad one is skipped: fold from scratch,
 * or, after a compaction, from the state at the horizon that the archives give).
 */
async function startFrom(log: EventLog, seq: number): Promise<{ state: State; snapshotSeq: number }> {
  const snap = await log.snapshotAtOrBefore(seq);
  if (snap && snap.seq >= log.horizon - 1) {
    try {
      return { state: decodeSnapshot(snap.bytes), snapshotSeq: snap.seq };
    } catch {
      // fall through
    }
  }
  if (log.horizon === 1) return { state: initialState(), snapshotSeq: 0 };
  return { state: await archivedStateAt(log, log.horizon - 1), snapshotSeq: log.horizon - 1 };
}

/** Exactly the state after event `seq` (clamped to the head), from the archives if need be. */
export async function stateAt(log: EventLog, seq: number): Promise<State> {
  const target = Math.min(seq, log.head().seq);
  if (target < log.horizon - 1) return archivedStateAt(log, target);
  const { state } = await startFrom(log, target);
  return (await foldLog(log, state, target)).state;
}

/** The state after `seq`, which compaction moved to an archive: its start snapshot + a fold. */
async function archivedStateAt(log: EventLog, seq: number): Promise<State> {
  if (seq <= 0) return initialState();
  const a = log.archives().find((x) => x.fromSeq <= seq && seq <= x.toSeq);
  if (!a) throw new ChronicleError('FAILED_PRECONDITION', `history at seq ${seq} was compacted and no archive records it`, { seq });
  const reader = await openArchive(a);
  try {
    const { snapshot, events } = await reader.startFor(seq);
    let state = snapshot ? decodeSnapshot(snapshot) : initialState();
    for await (const chunk of events) state = fold(state, chunk);
    return state;
  } finally {
    await reader.close();
  }
}

/** Events over [fromSeq, toSeq] wherever they are: the archives, then the log; in chunks. */
export async function* readHistory(log: EventLog, fromSeq: number, toSeq: number, signal?: AbortSignal): AsyncGenerator<Envelope[]> {
  if (fromSeq < log.horizon) yield* readArchives(log.archives(), fromSeq, Math.min(toSeq, log.horizon - 1), signal);
  if (toSeq >= log.horizon) yield* log.readChunks({ fromSeq: Math.max(fromSeq, log.horizon), toSeq, ...(signal ? { signal } : {}) });
}

/** The state after the last event with ts <= `ts`. */
export async function stateAtTime(log: EventLog, ts: number): Promise<State> {
  return stateAt(log, await log.seqAtTime(ts));
}

/** Recovery's replay: newest snapshot plus every event after it. */
export async function loadState(log: EventLog): Promise<Loaded> {
  const head = log.head().seq;
  const { state, snapshotSeq } = await startFrom(log, head);
  const r = await foldLog(log, state, head);
  return { state: r.state, snapshotSeq, replayed: r.replayed };
}
