// The chronicle.v1 messages as the CLI receives them (proto-loader with keepCase: false,
// longs: Number, defaults: true): the CLI's own view of proto/chronicle.proto.

import type { EventMessage } from '../api/event-message.js';
import type { TaskWire } from '../api/http-wire.js';

/** chronicle.v1.Task: its status fields (as taskStatus writes them) and where it runs. */
export interface Task extends TaskWire {
  id: string;
  namespace: string;
  shimAddress: string;
  shimPid: number;
  stdout: string;
  stderr: string;
}

export interface Checkpoint {
  checkpointId: string;
  namespace: string;
  containerId: string;
  imagePath: string;
  bytes: number;
  digest: string;
  leftRunning: boolean;
  paused: boolean;
  durationMs: number;
  parent: string;
  createdAt: number;
  seq: number;
}
export interface ListCheckpointsReply {
  checkpoints: Checkpoint[];
}

export interface Container {
  id: string;
  namespace: string;
  runtime: string;
  bundle: string;
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  labels: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  task?: Task | null;
  checkpoints?: Checkpoint[];
}

export interface CreateContainerRequest {
  id: string;
  runtime: string;
  bundle: string;
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  labels: Record<string, string>;
}

export interface TaskReply {
  task?: Task | null;
}
export interface ListContainersReply {
  containers: Container[];
}
export interface ExecReply {
  pid: number;
  stdout: string;
  stderr: string;
}
export interface WaitReply {
  exitCode: number;
  exitedAt: number;
  exitSignal: string;
}
export interface DeleteTaskReply {
  exitCode: number;
  exitedAt: number;
}
export interface LogChunk {
  stream: string;
  data: Buffer;
}

/** The chronicle.v1.Event message, as the daemon builds it (a type-only import: no code loads). */
export type Event = EventMessage;

export interface SubscribeRequest {
  fromSeq: number;
  fromTime: number;
  filters: string[];
  follow: boolean;
}

export interface InfoReply {
  version: string;
  pid: number;
  root: string;
  state: string;
  socket: string;
  defaultRuntime: string;
  headSeq: number;
  lastRecoveryJson: string;
  /** Fleet export status as JSON ('' when export is off). */
  exportJson?: string;
  containers: number;
  tasksRunning: number;
}
