// The public surface of the projections.
export * from './state.js';
export { apply, evolve, fold } from './evolve.js';
export { decide, type Decision } from './decide.js';
export type { Command, CommandType } from './commands.js';
export { allowed, checkTransition, phaseOf, TASK_EVENTS, type TaskPhase, type TransitionFault } from './task-machine.js';
export { decodeSnapshot, encodeSnapshot } from './snapshot.js';
export { foldLog, loadState, readHistory, stateAt, stateAtTime, type Loaded } from './state-at.js';
export { Projector, type ProjectorOptions } from './projector.js';
export { diffContainer, diffStates, type Change, type ChangeKind } from './diff.js';
