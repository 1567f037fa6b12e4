// One zod schema per event type (DESIGN section 3). Each schema is the single source of its
// TypeScript type. `data` schemas are versioned: EVENT_VERSIONS names the current version of
// each type, and upcast.ts lifts older versions on read (stored events are never rewritten).
import * as z from 'zod';

export const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,75}$/, 'must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,75}$');
export const Namespace = Id;
const Pid = z.number().int().nonnegative();
const Millis = z.number().int().nonnegative();
const Labels = z.record(z.string(), z.string());

export const RuntimeName = z.enum(['runc', 'process']);
export type RuntimeName = z.infer<typeof RuntimeName>;

export const Stdio = z.object({
  stdin: z.string().optional(),
  stdout: z.string(),
  stderr: z.string(),
});
export type Stdio = z.infer<typeof Stdio>;

// --- container -------------------------------------------------------------------------
/**
 * What a containerd client gave for a container (the containerd API facade): kept so that it
 * reads back as it was written. `spec` is the OCI spec JSON as received.
 */
export const ContainerdExtras = z.object({
  spec: z.string(),
  runtimeName: z.string(),
  /** base64 of the options Any's value */
  runtimeOptions: z.object({ typeUrl: z.string(), value: z.string() }).optional(),
  image: z.string(),
  snapshotter: z.string(),
  snapshotKey: z.string(),
});
export type ContainerdExtras = z.infer<typeof ContainerdExtras>;

export const ContainerCreated = z.object({
  runtime: RuntimeName,
  bundle: z.string(),
  rootfs: z.string().optional(),
  args: z.array(z.string()),
  env: z.array(z.string()),
  cwd: z.string(),
  labels: Labels,
  containerd: ContainerdExtras.optional(),
});
export type ContainerCreated = z.infer<typeof ContainerCreated>;

export const ContainerUpdated = z.object({ labels: Labels });
export type ContainerUpdated = z.infer<typeof ContainerUpdated>;

export const ContainerDeleted = z.object({});
export type ContainerDeleted = z.infer<typeof ContainerDeleted>;

// --- task ------------------------------------------------------------------------------
export const ShimRef = z.object({ address: z.string(), pid: Pid });
export type ShimRef = z.infer<typeof ShimRef>;

export const TaskCreated = z.object({
  pid: Pid,
  shim: ShimRef,
  bundle: z.string(),
  stdio: Stdio,
});
export type TaskCreated = z.infer<typeof TaskCreated>;

export const TaskStarted = z.object({ pid: Pid });
export type TaskStarted = z.infer<typeof TaskStarted>;

export const TaskPaused = z.object({});
export type TaskPaused = z.infer<typeof TaskPaused>;

export const TaskResumed = z.object({});
export type TaskResumed = z.infer<typeof TaskResumed>;

// 'checkpointed': a checkpoint without leave-running stopped the task (added with
// checkpoint/restore; older events never hold it, so no upcast is needed).
export const ExitReason = z.enum(['exited', 'killed', 'oom', 'shim-lost', 'checkpointed']);
export type ExitReason = z.infer<typeof ExitReason>;

export const TaskExited = z.object({
  pid: Pid,
  exitCode: z.number().int(),
  signal: z.string().nullable(),
  /** When the shim saw the exit (ms since epoch); may be earlier than the event's ts. */
  exitedAt: Millis,
  reason: ExitReason,
});
export type TaskExited = z.infer<typeof TaskExited>;

export const TaskDeleted = z.object({ exitCode: z.number().int().nullable() });
export type TaskDeleted = z.infer<typeof TaskDeleted>;

export const TaskCheckpointed = z.object({
  checkpointId: z.string(),
  /** The checkpoint's directory (manifest.json, image/). */
  imagePath: z.string(),
  bytes: z.number().int().nonnegative(),
  /** sha256 over the image files (src/shim/checkpoint-image.ts); restore checks it first. */
  digest: z.string(),
  leftRunning: z.boolean(),
  durationMs: z.number().nonnegative(),
  // Optional fields added with the CRIU implementation (v1 data without them stays valid).
  /** The checkpoint the task was itself restored from, if any. */
  parent: z.string().optional(),
  /** The task was paused when dumped. */
  paused: z.boolean().optional(),
});
export type TaskCheckpointed = z.infer<typeof TaskCheckpointed>;

/** Follows TaskCreated in the same batch: the task runs from the checkpoint's memory. */
export const TaskRestored = z.object({ checkpointId: z.string(), pid: Pid });
export type TaskRestored = z.infer<typeof TaskRestored>;

export const TaskOOM = z.object({});
export type TaskOOM = z.infer<typeof TaskOOM>;

/** A checkpoint's image was removed (`chronicle checkpoint rm`); ns/id name its container. */
export const CheckpointRemoved = z.object({ checkpointId: z.string() });
export type CheckpointRemoved = z.infer<typeof CheckpointRemoved>;

// --- exec ------------------------------------------------------------------------------
export const ExecAdded = z.object({
  execId: Id,
  args: z.array(z.string()),
  env: z.array(z.string()).optional(),
  cwd: z.string().optional(),
});
export type ExecAdded = z.infer<typeof ExecAdded>;

export const ExecStarted = z.object({ execId: Id, pid: Pid });
export type ExecStarted = z.infer<typeof ExecStarted>;

export const ExecExited = z.object({ execId: Id, pid: Pid, exitCode: z.number().int(), exitedAt: Millis });
export type ExecExited = z.infer<typeof ExecExited>;

/** The exec's record was removed (containerd's DeleteProcess): its id may be used again. */
export const ExecDeleted = z.object({ execId: Id });
export type ExecDeleted = z.infer<typeof ExecDeleted>;

// --- namespace (the event's ns is the namespace; id is '') ------------------------------
export const NamespaceCreated = z.object({ labels: Labels });
export type NamespaceCreated = z.infer<typeof NamespaceCreated>;

export const NamespaceDeleted = z.object({});
export type NamespaceDeleted = z.infer<typeof NamespaceDeleted>;

// --- shim ------------------------------------------------------------------------------
/** Written BEFORE the spawn: the address recovery must probe if nothing follows. */
export const ShimSpawning = z.object({ address: z.string(), group: z.string().optional() });
export type ShimSpawning = z.infer<typeof ShimSpawning>;

export const ShimReady = z.object({ address: z.string(), pid: Pid, version: z.string() });
export type ShimReady = z.infer<typeof ShimReady>;

export const ShimLost = z.object({ address: z.string(), pid: Pid.nullable(), reason: z.string() });
export type ShimLost = z.infer<typeof ShimLost>;

// --- daemon ----------------------------------------------------------------------------
export const DaemonStarted = z.object({ version: z.string(), pid: Pid, root: z.string(), state: z.string() });
export type DaemonStarted = z.infer<typeof DaemonStarted>;

export const DaemonRecovered = z.object({
  replayed: z.number().int().nonnegative(),
  snapshotSeq: z.number().int().nonnegative(),
  alive: z.number().int().nonnegative(),
  lost: z.number().int().nonnegative(),
  reconciled: z.number().int().nonnegative(),
  durations: z.record(z.string(), z.number()),
});
export type DaemonRecovered = z.infer<typeof DaemonRecovered>;

export const DaemonStopped = z.object({ reason: z.string() });
export type DaemonStopped = z.infer<typeof DaemonStopped>;

// --- audit -----------------------------------------------------------------------------
const RequestRecord = {
  op: z.string(),
  /** sha256 of the canonical request arguments. */
  digest: z.string(),
  durationMs: z.number().nonnegative(),
  /** The client-declared actor (`chronicle-actor` metadata): shown, never trusted. */
  declaredActor: z.string().optional(),
};
export const RequestCompleted = z.object({ ...RequestRecord });
export type RequestCompleted = z.infer<typeof RequestCompleted>;

export const RequestFailed = z.object({ ...RequestRecord, code: z.string(), message: z.string() });
export type RequestFailed = z.infer<typeof RequestFailed>;

export const RequestDenied = z.object({ ...RequestRecord, code: z.string(), message: z.string() });
export type RequestDenied = z.infer<typeof RequestDenied>;

// --- log maintenance -------------------------------------------------------------------
/** Appended by repair(): the bad tail [fromSeq, toSeq] was moved aside under `asidePrefix`. */
export const LogRepaired = z.object({
  fromSeq: z.number().int().positive(),
  toSeq: z.number().int().nonnegative(),
  count: z.number().int().nonnegative(),
  asidePrefix: z.string(),
  reason: z.string(),
});
export type LogRepaired = z.infer<typeof LogRepaired>;

/** Appended by compaction: [fromSeq, toSeq] now lives in `archive` (and no longer in LevelDB). */
export const LogCompacted = z.object({
  fromSeq: z.number().int().positive(),
  toSeq: z.number().int().positive(),
  count: z.number().int().positive(),
  archive: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string(),
  /** The hash of event toSeq: the archive's end, which the kept chain continues from. */
  lastHash: z.string(),
});
export type LogCompacted = z.infer<typeof LogCompacted>;

/** The current `data` schema of every event type. */
export const EVENT_DATA = {
  ContainerCreated,
  ContainerUpdated,
  ContainerDeleted,
  TaskCreated,
  TaskStarted,
  TaskPaused,
  TaskResumed,
  TaskExited,
  TaskDeleted,
  TaskCheckpointed,
  TaskRestored,
  TaskOOM,
  CheckpointRemoved,
  ExecAdded,
  ExecStarted,
  ExecExited,
  ExecDeleted,
  NamespaceCreated,
  NamespaceDeleted,
  ShimSpawning,
  ShimReady,
  ShimLost,
  DaemonStarted,
  DaemonRecovered,
  DaemonStopped,
  RequestCompleted,
  RequestFailed,
  RequestDenied,
  LogRepaired,
  LogCompacted,
} as const;

export type EventType = keyof typeof EVENT_DATA;
export const EVENT_TYPES = Object.keys(EVENT_DATA) as EventType[];
export const EventTypeSchema = z.enum(EVENT_TYPES as [EventType, ...EventType[]]);

/** Current schema version of each type's data. Bump it together with an upcaster. */
export const EVENT_VERSIONS: Record<EventType, number> = Object.fromEntries(EVENT_TYPES.map((t) => [t, 1])) as Record<EventType, number>;

export type EventDataMap = { [K in EventType]: z.infer<(typeof EVENT_DATA)[K]> };

/** A fact as an appender gives it: the writer adds seq, ts, v, prev and hash. */
export type Fact = {
  [K in EventType]: {
    type: K;
    ns: string;
    /** Container id, or '' for daemon-wide events. */
    id: string;
    data: EventDataMap[K];
    actor: string;
    req?: string | undefined;
    shimSeq?: number | undefined;
  };
}[EventType];

/** A committed event: the fact plus what the log gave it. Discriminated on `type`. */
export type Envelope = {
  [K in EventType]: {
    seq: number;
    ts: number;
    ns: string;
    id: string;
    type: K;
    v: number;
    data: EventDataMap[K];
    actor: string;
    req?: string | undefined;
    shimSeq?: number | undefined;
    /** sha256 of the previous event, hex; 64 zeros for seq 1. */
    prev: string;
    /** sha256(prev ‖ encoded event without hash), hex. */
    hash: string;
  };
}[EventType];

export type EnvelopeOf<K extends EventType> = Extract<Envelope, { type: K }>;
export type FactOf<K extends EventType> = Extract<Fact, { type: K }>;

/** Fact schema for appenders that take facts from outside (validated before they enter the log). */
export const FactSchema = z.object({
  type: EventTypeSchema,
  // '' for daemon-wide events; otherwise ids safe for keys (no \0 separator).
  ns: z.union([z.literal(''), Namespace]),
  id: z.union([z.literal(''), Id]),
  data: z.unknown(),
  actor: z.string().max(512),
  req: z.string().max(128).optional(),
  shimSeq: z.number().int().nonnegative().optional(),
});
