// The projected state of the node: every live container with its task, execs and
// checkpoints; every shim the log names; the daemon's last lifecycle events. Each shape is
// a zod schema (snapshots are validated on load) and the types are inferred from them.
// Only plain objects and arrays, so msgpackr snapshots them as they are.
import * as z from 'zod';
import { ContainerdExtras, DaemonRecovered, DaemonStarted, DaemonStopped, ExitReason, RuntimeName, Stdio } from '../events/schemas.js';

export const TaskStatus = z.enum(['created', 'running', 'paused', 'exited']);
export type TaskStatus = z.infer<typeof TaskStatus>;

export const ExecView = z.object({
  execId: z.string(),
  args: z.array(z.string()),
  status: z.enum(['added', 'running', 'exited']),
  pid: z.number().nullable(),
  exitCode: z.number().nullable(),
  exitedAt: z.number().nullable(),
});
export type ExecView = z.infer<typeof ExecView>;

export const TaskView = z.object({
  status: TaskStatus,
  pid: z.number(),
  shim: z.object({ address: z.string(), pid: z.number() }),
  bundle: z.string(),
  stdio: Stdio,
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  exitCode: z.number().nullable(),
  exitSignal: z.string().nullable(),
  exitedAt: z.number().nullable(),
  exitReason: ExitReason.nullable(),
  restoredFrom: z.string().nullable(),
  oomKilled: z.boolean(),
  execs: z.record(z.string(), ExecView),
});
export type TaskView = z.infer<typeof TaskView>;

export const CheckpointView = z.object({
  checkpointId: z.string(),
  imagePath: z.string(),
  bytes: z.number(),
  digest: z.string(),
  leftRunning: z.boolean(),
  ts: z.number(),
  seq: z.number(),
});
export type CheckpointView = z.infer<typeof CheckpointView>;

/** Every checkpoint whose image is kept, by id: it outlives its container (restore finds it here). */
export const CheckpointRecord = CheckpointView.extend({
  ns: z.string(),
  containerId: z.string(),
  durationMs: z.number(),
  parent: z.string().nullable(),
  paused: z.boolean(),
});
export type CheckpointRecord = z.infer<typeof CheckpointRecord>;

export const ContainerView = z.object({
  ns: z.string(),
  id: z.string(),
  runtime: RuntimeName,
  bundle: z.string(),
  rootfs: z.string().nullable(),
  args: z.array(z.string()),
  env: z.array(z.string()),
  cwd: z.string(),
  labels: z.record(z.string(), z.string()),
  createdAt: z.number(),
  updatedAt: z.number(),
  /** The live or exited task; absent before TaskCreated and after TaskDeleted. */
  task: TaskView.nullable(),
  checkpoints: z.array(CheckpointView),
  /** Set for a container created through the containerd API (its spec, runtime name, ...). */
  containerd: ContainerdExtras.optional(),
});
export type ContainerView = z.infer<typeof ContainerView>;

export const ShimView = z.object({
  address: z.string(),
  status: z.enum(['spawning', 'ready', 'lost']),
  pid: z.number().nullable(),
  group: z.string().nullable(),
  /** Highest shimSeq of this shim's facts in the log: recovery resumes Events(after) here. */
  lastShimSeq: z.number(),
  /** Container keys (ns/id) whose task this shim hosts. */
  containers: z.array(z.string()),
  since: z.number(),
});
export type ShimView = z.infer<typeof ShimView>;

export const NamespaceView = z.object({ labels: z.record(z.string(), z.string()), createdAt: z.number() });
export type NamespaceView = z.infer<typeof NamespaceView>;

export const State = z.object({
  /** Seq of the last event folded (0: none). */
  seq: z.number(),
  ts: z.number(),
  containers: z.record(z.string(), ContainerView),
  shims: z.record(z.string(), ShimView),
  /** Snapshots written before checkpoints existed have none. */
  checkpoints: z.record(z.string(), CheckpointRecord).default({}),
  daemon: z.object({
    started: DaemonStarted.extend({ seq: z.number(), ts: z.number() }).nullable(),
    recovered: DaemonRecovered.extend({ seq: z.number(), ts: z.number() }).nullable(),
    stopped: DaemonStopped.extend({ seq: z.number(), ts: z.number() }).nullable(),
  }),
  deletedContainers: z.number(),
  /** Namespaces created explicitly (NamespaceCreated); a namespace with containers exists too. */
  namespaces: z.record(z.string(), NamespaceView).default({}),
});
export type State = z.infer<typeof State>;

export function initialState(): State {
  return { seq: 0, ts: 0, containers: {}, shims: {}, checkpoints: {}, daemon: { started: null, recovered: null, stopped: null }, deletedContainers: 0, namespaces: {} };
}

export function containerKey(ns: string, id: string): string {
  return `${ns}/${id}`;
}

export function findContainer(state: State, ns: string, id: string): ContainerView | undefined {
  return state.containers[containerKey(ns, id)];
}

/** True for a task whose process may be alive (what recovery must verify). */
export function isLive(task: TaskView | null | undefined): task is TaskView {
  return task !== null && task !== undefined && task.status !== 'exited';
}
