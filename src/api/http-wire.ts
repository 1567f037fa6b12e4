// The JSON the web endpoints send, as types only (no imports): the daemon's HTTP module
// and the page in web/ both compile against this file, so the two cannot drift apart.

/** A mark on the timeline: the status a container entered, or an event drawn on its row. */
export type StatusCode = 'created' | 'running' | 'paused' | 'exited' | 'deleted';
export type MarkerCode = 'checkpoint' | 'restore' | 'oom';
/** Daemon lifecycle events, drawn as vertical rules across every row. */
export type RuleCode = 'started' | 'recovered' | 'stopped';
export type MarkCode = StatusCode | MarkerCode | RuleCode;

/** [seq, ts, row (-1: the daemon), code, exit code (for 'exited') or null]. */
export type Mark = [seq: number, ts: number, row: number, code: MarkCode, exitCode: number | null];

export interface RowInfo {
  ns: string;
  id: string;
  /** The labels of its latest incarnation. */
  labels: Record<string, string>;
  /** Every actor named by one of its events or request records. */
  actors: string[];
}

/** GET /api/overview: every container ever seen and every mark, in seq order. */
export interface OverviewMessage {
  head: number;
  headTs: number;
  /** ts of the first event (0 for an empty log). */
  firstTs: number;
  rows: RowInfo[];
  marks: Mark[];
}

/** chronicle.v1.Event as JSON (data as a JSON string, as gRPC sends it). */
export interface EventWire {
  seq: number;
  ts: number;
  namespace: string;
  id: string;
  type: string;
  version: number;
  dataJson: string;
  actor: string;
  req: string;
  shimSeq: number;
  prev: string;
  hash: string;
}

/** One Server-Sent Event of GET /api/events (`id:` is the seq; `event: event`). */
export interface LiveEventWire {
  event: EventWire;
  /** What the event draws on the timeline (computed with the projection): a marker or rule, a status entered, both or nothing. */
  marks: { code: MarkCode; exitCode: number | null }[];
  /** The container's labels after ContainerCreated / ContainerUpdated. */
  labels?: Record<string, string>;
}

/** A task as the page shows it (chronicle.v1.Task's status fields). */
export interface TaskWire {
  status: string;
  pid: number;
  exitCode: number;
  exitSignal: string;
  exitedAt: number;
  exitReason: string;
  startedAt: number;
  /** The checkpoint it was restored from, or ''. */
  restoredFrom: string;
}

/** A container as the page shows it: chronicle.v1.Container without its spec (args, env, bundle). */
export interface ContainerWire {
  id: string;
  namespace: string;
  runtime: string;
  labels: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  task?: TaskWire;
}

export interface ChangeWire {
  namespace: string;
  id: string;
  kind: string;
  fromStatus: string;
  toStatus: string;
  exitCode: number;
  detail: string;
}

/** GET /api/state-at?at=…[&since=…]: the state at a point, and what changed since another. */
export interface StateAtWire {
  seq: number;
  ts: number;
  containers: ContainerWire[];
  /** With `since`: its seq and the changes from the state there to this one. */
  sinceSeq?: number;
  changes?: ChangeWire[];
}

export interface DiffWire {
  fromSeq: number;
  toSeq: number;
  changes: ChangeWire[];
}

export interface TimelineWire {
  entries: { event: EventWire; after?: ContainerWire }[];
}

export interface AuditWire {
  records: { request: EventWire; outcome: string; facts: EventWire[] }[];
  nextPageToken: string;
}

export interface VerifyWire {
  ok: boolean;
  checked: number;
  firstBadSeq: number;
  reason: string;
}

export interface HeadWire {
  seq: number;
  ts: number;
  hash: string;
}

/** Every error: 4xx/5xx with the chronicle code and, for bad input, the field. */
export interface ErrorWire {
  error: { code: string; message: string; field?: string };
}
