// The task state machine: created -> running <-> paused; running|paused -> exited;
// created -> exited (the init died before Start); created|exited -> deleted; a restored task
// enters running. `decide` refuses commands against it; `checkTransition` REPORTS stored
// events that break it (a stored fact is never refused: evolve applies it leniently).
import type { Envelope } from '../events/schemas.js';
import { containerKey, type State, type TaskStatus } from './state.js';

/** 'none' is "no task" (before TaskCreated, after TaskDeleted). */
export type TaskPhase = TaskStatus | 'none';

export const TASK_EVENTS = {
  TaskCreated: { from: ['none'], to: 'created' },
  TaskRestored: { from: ['none', 'created'], to: 'running' },
  TaskStarted: { from: ['created'], to: 'running' },
  TaskPaused: { from: ['running'], to: 'paused' },
  TaskResumed: { from: ['paused'], to: 'running' },
  TaskExited: { from: ['created', 'running', 'paused'], to: 'exited' },
  TaskDeleted: { from: ['created', 'exited'], to: 'none' },
} as const satisfies Record<string, { from: readonly TaskPhase[]; to: TaskPhase }>;

export type TaskEventType = keyof typeof TASK_EVENTS;

export function phaseOf(state: State, ns: string, id: string): TaskPhase {
  return state.containers[containerKey(ns, id)]?.task?.status ?? 'none';
}

export function allowed(event: TaskEventType, from: TaskPhase): boolean {
  return (TASK_EVENTS[event].from as readonly TaskPhase[]).includes(from);
}

export interface TransitionFault {
  seq: number;
  type: string;
  from: TaskPhase;
  reason: string;
}

/** Checks one stored event against the state before it; undefined when it is allowed. */
export function checkTransition(state: State, e: Envelope): TransitionFault | undefined {
  const exists = state.containers[containerKey(e.ns, e.id)] !== undefined;
  switch (e.type) {
    case 'ContainerCreated':
      return exists ? { seq: e.seq, type: e.type, from: phaseOf(state, e.ns, e.id), reason: 'container already exists' } : undefined;
    case 'ContainerUpdated':
    case 'ContainerDeleted':
      if (!exists) return { seq: e.seq, type: e.type, from: 'none', reason: 'no such container' };
      if (e.type === 'ContainerDeleted' && phaseOf(state, e.ns, e.id) !== 'none') {
        return { seq: e.seq, type: e.type, from: phaseOf(state, e.ns, e.id), reason: 'container deleted with a task' };
      }
      return undefined;
    default:
      break;
  }
  if (!(e.type in TASK_EVENTS)) return undefined;
  const from = phaseOf(state, e.ns, e.id);
  if (!exists) return { seq: e.seq, type: e.type, from, reason: 'no such container' };
  return allowed(e.type as TaskEventType, from) ? undefined : { seq: e.seq, type: e.type, from, reason: `${e.type} not allowed from ${from}` };
}
