// Time travel and replay: newest snapshot at or before the target, plus a fold forward in
// chunks (the log reads in chunks of 1000, and one fold per chunk keeps the copy cost low).
import type { EventLog } from '../events/event-log.js';
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

/** The newest usable snapshot at or before `seq` (a bad one is skipped: fold from scratch). */
async function startFrom(log: EventLog, seq: number): Promise<{ state: State; snapshotSeq: number }> {
  const snap = await log.snapshotAtOrBefore(seq);
  if (!snap) return { state: initialState(), snapshotSeq: 0 };
  try {
    return { state: decodeSnapshot(snap.bytes), snapshotSeq: snap.seq };
  } catch {
    return { state: initialState(), snapshotSeq: 0 };
  }
}

/** Exactly the state after event `seq` (clamped to the head). */
export async function stateAt(log: EventLog, seq: number): Promise<State> {
  const target = Math.min(seq, log.head().seq);
  const { state } = await startFrom(log, target);
  return (await foldLog(log, state, target)).state;
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
