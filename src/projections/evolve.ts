// evolve(state, event) -> state, pure: no I/O, no clock, no randomness; time comes from the
// event's ts. A stored event is a fact, so evolve never throws: an event the state machine
// does not allow is applied leniently (or ignored when its container is unknown) and
// reported by checkTransition instead.
//
// Cost contract: `fold` makes ONE shallow copy of the top-level records per call and then
// `apply` mutates only those copies, replacing nested entries copy-on-write. So a state
// returned earlier is never changed, and replaying a million events costs one copy per
// chunk, not one per event.
import { assertNever } from '../errors.js';
import type { Envelope } from '../events/schemas.js';
import { containerKey, type ContainerView, type State, type TaskView } from './state.js';

export function fold(state: State, events: Iterable<Envelope>): State {
  const draft: State = {
    ...state,
    containers: { ...state.containers },
    shims: { ...state.shims },
    checkpoints: { ...state.checkpoints },
    daemon: { ...state.daemon },
    namespaces: { ...state.namespaces },
  };
  for (const e of events) apply(draft, e);
  return draft;
}

export function evolve(state: State, event: Envelope): State {
  return fold(state, [event]);
}

function withTask(draft: State, key: string, change: (t: TaskView, c: ContainerView) => TaskView | null): void {
  const c = draft.containers[key];
  if (!c?.task) return;
  draft.containers[key] = { ...c, task: change(c.task, c) };
}

function noteShimSeq(draft: State, address: string | undefined, shimSeq: number | undefined): void {
  if (address === undefined || shimSeq === undefined) return;
  const s = draft.shims[address];
  if (s && shimSeq > s.lastShimSeq) draft.shims[address] = { ...s, lastShimSeq: shimSeq };
}

/** A shim exits after its last Delete, so one that hosts nothing more leaves the state. */
function detachFromShim(draft: State, address: string, key: string): void {
  const s = draft.shims[address];
  if (!s) return;
  const containers = s.containers.filter((k) => k !== key);
  if (containers.length === 0 && s.status !== 'spawning') delete draft.shims[address];
  else draft.shims[address] = { ...s, containers };
}

/** Applies one event to a draft made by fold (mutates the draft's top-level records only). */
export function apply(draft: State, e: Envelope): void {
  draft.seq = e.seq;
  draft.ts = e.ts;
  const key = containerKey(e.ns, e.id);
  switch (e.type) {
    case 'ContainerCreated': {
      const d = e.data;
      draft.containers[key] = {
        ns: e.ns,
        id: e.id,
        runtime: d.runtime,
        bundle: d.bundle,
        rootfs: d.rootfs ?? null,
        args: d.args,
        env: d.env,
        cwd: d.cwd,
        labels: d.labels,
        createdAt: e.ts,
        updatedAt: e.ts,
        task: null,
        checkpoints: [],
        ...(d.containerd ? { containerd: d.containerd } : {}),
      };
      return;
    }
    case 'ContainerUpdated': {
      const c = draft.containers[key];
      if (c) draft.containers[key] = { ...c, labels: e.data.labels, updatedAt: e.ts };
      return;
    }
    case 'ContainerDeleted': {
      const c = draft.containers[key];
      if (!c) return;
      if (c.task) detachFromShim(draft, c.task.shim.address, key);
      delete draft.containers[key];
      draft.deletedContainers += 1;
      return;
    }
    case 'TaskCreated':
    case 'TaskRestored': {
      const c = draft.containers[key];
      if (!c) return;
      if (e.type === 'TaskCreated') {
        const d = e.data;
        draft.containers[key] = {
          ...c,
          task: {
            status: 'created',
            pid: d.pid,
            shim: d.shim,
            bundle: d.bundle,
            stdio: d.stdio,
            createdAt: e.ts,
            startedAt: null,
            exitCode: null,
            exitSignal: null,
            exitedAt: null,
            exitReason: null,
            restoredFrom: null,
            oomKilled: false,
            execs: {},
          },
        };
        const s = draft.shims[d.shim.address];
        if (s && !s.containers.includes(key)) draft.shims[d.shim.address] = { ...s, containers: [...s.containers, key] };
      } else {
        withTask(draft, key, (t) => ({ ...t, status: 'running', pid: e.data.pid, startedAt: e.ts, restoredFrom: e.data.checkpointId }));
      }
      return;
    }
    case 'TaskStarted':
      withTask(draft, key, (t) => ({ ...t, status: 'running', pid: e.data.pid, startedAt: e.ts }));
      return;
    case 'TaskPaused':
      withTask(draft, key, (t) => (t.status === 'exited' ? t : { ...t, status: 'paused' }));
      return;
    case 'TaskResumed':
      withTask(draft, key, (t) => (t.status === 'exited' ? t : { ...t, status: 'running' }));
      return;
    case 'TaskExited': {
      const d = e.data;
      withTask(draft, key, (t) => ({
        ...t,
        status: 'exited',
        exitCode: d.exitCode,
        exitSignal: d.signal,
        exitedAt: d.exitedAt,
        exitReason: t.oomKilled && d.reason === 'killed' ? 'oom' : d.reason,
      }));
      noteShimSeq(draft, draft.containers[key]?.task?.shim.address, e.shimSeq);
      return;
    }
    case 'TaskOOM':
      withTask(draft, key, (t) => ({ ...t, oomKilled: true }));
      noteShimSeq(draft, draft.containers[key]?.task?.shim.address, e.shimSeq);
      return;
    case 'TaskDeleted': {
      const c = draft.containers[key];
      if (!c?.task) return;
      detachFromShim(draft, c.task.shim.address, key);
      draft.containers[key] = { ...c, task: null };
      return;
    }
    case 'TaskCheckpointed': {
      const d = e.data;
      const view = { checkpointId: d.checkpointId, imagePath: d.imagePath, bytes: d.bytes, digest: d.digest, leftRunning: d.leftRunning, ts: e.ts, seq: e.seq };
      draft.checkpoints[d.checkpointId] = { ...view, ns: e.ns, containerId: e.id, durationMs: d.durationMs, parent: d.parent ?? null, paused: d.paused ?? false };
      const c = draft.containers[key];
      if (c) draft.containers[key] = { ...c, checkpoints: [...c.checkpoints, view] };
      return;
    }
    case 'CheckpointRemoved': {
      const id = e.data.checkpointId;
      delete draft.checkpoints[id];
      const c = draft.containers[key];
      if (c?.checkpoints.some((v) => v.checkpointId === id)) draft.containers[key] = { ...c, checkpoints: c.checkpoints.filter((v) => v.checkpointId !== id) };
      return;
    }
    case 'ExecAdded':
      withTask(draft, key, (t) => ({
        ...t,
        execs: { ...t.execs, [e.data.execId]: { execId: e.data.execId, args: e.data.args, status: 'added', pid: null, exitCode: null, exitedAt: null } },
      }));
      return;
    case 'ExecStarted':
      withTask(draft, key, (t) => {
        const x = t.execs[e.data.execId];
        return x ? { ...t, execs: { ...t.execs, [x.execId]: { ...x, status: 'running', pid: e.data.pid } } } : t;
      });
      return;
    case 'ExecExited':
      withTask(draft, key, (t) => {
        const x = t.execs[e.data.execId];
        return x ? { ...t, execs: { ...t.execs, [x.execId]: { ...x, status: 'exited', exitCode: e.data.exitCode, exitedAt: e.data.exitedAt } } } : t;
      });
      noteShimSeq(draft, draft.containers[key]?.task?.shim.address, e.shimSeq);
      return;
    case 'ExecDeleted':
      withTask(draft, key, (t) => {
        if (!t.execs[e.data.execId]) return t;
        const execs = { ...t.execs };
        delete execs[e.data.execId];
        return { ...t, execs };
      });
      return;
    case 'NamespaceCreated':
      draft.namespaces[e.ns] = { labels: e.data.labels, createdAt: e.ts };
      return;
    case 'NamespaceDeleted':
      delete draft.namespaces[e.ns];
      return;
    case 'ShimSpawning':
      draft.shims[e.data.address] = {
        address: e.data.address,
        status: 'spawning',
        pid: null,
        group: e.data.group ?? null,
        lastShimSeq: 0,
        containers: draft.shims[e.data.address]?.containers ?? [],
        since: e.ts,
      };
      return;
    case 'ShimReady': {
      const s = draft.shims[e.data.address];
      draft.shims[e.data.address] = s
        ? { ...s, status: 'ready', pid: e.data.pid, since: e.ts }
        : { address: e.data.address, status: 'ready', pid: e.data.pid, group: null, lastShimSeq: 0, containers: [], since: e.ts };
      return;
    }
    case 'ShimLost': {
      const s = draft.shims[e.data.address];
      // Kept while it names tasks (they still need their Delete); forgotten otherwise.
      if (s && s.containers.length > 0) draft.shims[e.data.address] = { ...s, status: 'lost', since: e.ts };
      else delete draft.shims[e.data.address];
      return;
    }
    case 'DaemonStarted':
      draft.daemon.started = { ...e.data, seq: e.seq, ts: e.ts };
      return;
    case 'DaemonRecovered':
      draft.daemon.recovered = { ...e.data, seq: e.seq, ts: e.ts };
      return;
    case 'DaemonStopped':
      draft.daemon.stopped = { ...e.data, seq: e.seq, ts: e.ts };
      return;
    case 'RequestCompleted':
    case 'RequestFailed':
    case 'RequestDenied':
    case 'LogRepaired':
    case 'LogCompacted':
      return;
    default:
      assertNever(e);
  }
}
