// Pure: what the log lacks, given what it says of a task and what its shim reports.
// Reality may be ahead of the log when the daemon died between a shim call and its append
// (DESIGN section 7); the missing facts are then appended with actor `recovery`.
import type { TaskStatus } from '../projections/state.js';

export type ShimStatus = 'created' | 'running' | 'paused' | 'stopped';

export type Missing = 'TaskStarted' | 'TaskPaused' | 'TaskResumed';

/** Facts to append, in order, so that the log's status matches the shim's. Exits come from Events(after). */
export function reconcile(logged: TaskStatus, actual: ShimStatus): Missing[] {
  if (logged === 'created' && actual === 'running') return ['TaskStarted'];
  if (logged === 'created' && actual === 'paused') return ['TaskStarted', 'TaskPaused'];
  if (logged === 'running' && actual === 'paused') return ['TaskPaused'];
  if (logged === 'paused' && actual === 'running') return ['TaskResumed'];
  return [];
}
