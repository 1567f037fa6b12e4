// Fact builders shared by every test, and a helper that commits them (seq, ts) for pure tests.
import type { Envelope, Fact, FactOf } from '../../src/events/schemas.js';

const NS = 'default';
const shim = (id: string): { address: string; pid: number } => ({ address: `/run/test/s/${id}.sock`, pid: 4242 });

export function containerCreated(id: string, over: Partial<FactOf<'ContainerCreated'>['data']> = {}): Fact {
  return {
    type: 'ContainerCreated',
    ns: NS,
    id,
    actor: 'test',
    data: { runtime: 'runc', bundle: `/run/test/bundles/${id}`, args: ['/bin/sh'], env: [], cwd: '/', labels: {}, ...over },
  };
}
export const containerUpdated = (id: string, labels: Record<string, string>): Fact => ({ type: 'ContainerUpdated', ns: NS, id, actor: 'test', data: { labels } });
export const containerDeleted = (id: string): Fact => ({ type: 'ContainerDeleted', ns: NS, id, actor: 'test', data: {} });
export const shimSpawning = (id: string): Fact => ({ type: 'ShimSpawning', ns: NS, id, actor: 'daemon', data: { address: shim(id).address } });
export const shimReady = (id: string): Fact => ({ type: 'ShimReady', ns: NS, id, actor: 'daemon', data: { ...shim(id), version: 'test' } });
export const shimLost = (id: string): Fact => ({ type: 'ShimLost', ns: NS, id, actor: 'recovery', data: { ...shim(id), reason: 'test' } });
/** `shimOf`: the container whose shim hosts this task too (a shim group). */
export function taskCreated(id: string, pid = 1000, shimOf = id): Fact {
  return {
    type: 'TaskCreated',
    ns: NS,
    id,
    actor: 'test',
    data: { pid, shim: shim(shimOf), bundle: `/run/test/bundles/${id}`, stdio: { stdout: '/dev/null', stderr: '/dev/null' } },
  };
}
export const taskStarted = (id: string, pid = 1000): Fact => ({ type: 'TaskStarted', ns: NS, id, actor: 'test', data: { pid } });
export const taskPaused = (id: string): Fact => ({ type: 'TaskPaused', ns: NS, id, actor: 'test', data: {} });
export const taskResumed = (id: string): Fact => ({ type: 'TaskResumed', ns: NS, id, actor: 'test', data: {} });
export function taskExited(id: string, exitCode = 0, shimSeq?: number): Fact {
  return {
    type: 'TaskExited',
    ns: NS,
    id,
    actor: 'shim',
    ...(shimSeq !== undefined ? { shimSeq } : {}),
    data: { pid: 1000, exitCode, signal: exitCode > 128 ? 'SIGKILL' : null, exitedAt: 1_700_000_000_000, reason: exitCode > 128 ? 'killed' : 'exited' },
  };
}
export const taskOOM = (id: string): Fact => ({ type: 'TaskOOM', ns: NS, id, actor: 'shim', data: {} });
export const taskDeleted = (id: string, exitCode: number | null = 0): Fact => ({ type: 'TaskDeleted', ns: NS, id, actor: 'test', data: { exitCode } });
export const execAdded = (id: string, execId: string): Fact => ({ type: 'ExecAdded', ns: NS, id, actor: 'test', data: { execId, args: ['/bin/true'] } });
export const execStarted = (id: string, execId: string, pid = 2000): Fact => ({ type: 'ExecStarted', ns: NS, id, actor: 'test', data: { execId, pid } });
export const execExited = (id: string, execId: string, exitCode = 0): Fact => ({
  type: 'ExecExited',
  ns: NS,
  id,
  actor: 'shim',
  data: { execId, pid: 2000, exitCode, exitedAt: 1_700_000_000_500 },
});
export function taskCheckpointed(id: string, checkpointId = 'cp1'): Fact {
  return {
    type: 'TaskCheckpointed',
    ns: NS,
    id,
    actor: 'test',
    data: { checkpointId, imagePath: `/var/lib/chronicle/checkpoints/${checkpointId}`, bytes: 1024, digest: 'ab'.repeat(32), leftRunning: true, durationMs: 12 },
  };
}
export const taskRestored = (id: string, checkpointId = 'cp1', pid = 3000): Fact => ({ type: 'TaskRestored', ns: NS, id, actor: 'test', data: { checkpointId, pid } });

/** Facts as committed events, with seq from `startSeq` and ts one ms apart, for pure tests. */
export function commit(facts: readonly Fact[], startSeq = 1, startTs = 1_700_000_000_000): Envelope[] {
  return facts.map((f, i) => ({ ...f, seq: startSeq + i, ts: startTs + i, v: 1, prev: '0'.repeat(64), hash: '0'.repeat(64) }));
}
