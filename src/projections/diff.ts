// What changed between two states of the node, container by container: created, deleted,
// a task created or deleted, a status transition, an exit, new labels. Pure; Diff compares
// two points in time and Replay shows the change each single event made.
import type { ContainerView, State } from './state.js';

export type ChangeKind = 'created' | 'deleted' | 'task-created' | 'task-deleted' | 'transition' | 'exited' | 'labels';

export interface Change {
  ns: string;
  id: string;
  kind: ChangeKind;
  fromStatus: string;
  toStatus: string;
  exitCode: number | null;
  detail: string;
}

/** Every change between `from` and `to`, ordered by container key. */
export function diffStates(from: State, to: State): Change[] {
  const keys = [...new Set([...Object.keys(from.containers), ...Object.keys(to.containers)])].sort();
  return keys.flatMap((k) => diffContainer(from.containers[k], to.containers[k]));
}

/** The changes from one container state to another (either may be absent). */
export function diffContainer(a: ContainerView | undefined, b: ContainerView | undefined): Change[] {
  const c = b ?? a;
  if (!c) return [];
  const change = (kind: ChangeKind, fromStatus = '', toStatus = '', exitCode: number | null = null, detail = ''): Change => ({ ns: c.ns, id: c.id, kind, fromStatus, toStatus, exitCode, detail });
  // The same id deleted and created again in between counts as both.
  if (a && b && a.createdAt !== b.createdAt) return [...diffContainer(a, undefined), ...diffContainer(undefined, b)];
  if (!a && b) return [change('created', '', b.task?.status ?? ''), ...diffTask(undefined, b, change)];
  if (a && !b) return [change('deleted', a.task?.status ?? '', '')];
  if (!a || !b) return [];
  const out: Change[] = [];
  const labels = labelChanges(a.labels, b.labels);
  if (labels) out.push(change('labels', '', '', null, labels));
  out.push(...diffTask(a, b, change));
  return out;
}

type Make = (kind: ChangeKind, fromStatus?: string, toStatus?: string, exitCode?: number | null, detail?: string) => Change;

function diffTask(a: ContainerView | undefined, b: ContainerView, change: Make): Change[] {
  const ta = a?.task ?? null;
  const tb = b.task;
  if (!ta && !tb) return [];
  if (ta && tb && ta.createdAt !== tb.createdAt) return [change('task-deleted', ta.status, ''), ...diffTask(undefined, b, change)];
  if (!ta && tb) {
    const created = change('task-created', '', tb.status, null, `pid ${tb.pid}`);
    return tb.status === 'exited' ? [created, change('exited', 'created', 'exited', tb.exitCode, tb.exitReason ?? '')] : [created];
  }
  if (ta && !tb) return [change('task-deleted', ta.status, '', ta.exitCode)];
  if (!ta || !tb || ta.status === tb.status) return [];
  if (tb.status === 'exited') return [change('exited', ta.status, 'exited', tb.exitCode, tb.exitReason ?? '')];
  return [change('transition', ta.status, tb.status)];
}

function labelChanges(a: Record<string, string>, b: Record<string, string>): string {
  const parts: string[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (a[k] === b[k]) continue;
    parts.push(b[k] === undefined ? `-${k}` : `${k}=${b[k]}`);
  }
  return parts.join(',');
}
