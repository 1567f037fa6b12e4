// chronicle's projection as containerd messages: Container, Process (task or exec), status
// names. Pure mappings, except for reading a chronicle-made container's config.json.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerView, ExecView, TaskView } from '../../projections/state.js';
import { SPEC_TYPE_URL } from './requests.js';
import { optionalTimestamp, timestamp, type AnyMessage, type TimestampMessage } from './wire.js';

export const RUNC_RUNTIME = 'io.containerd.runc.v2';
export const PROCESS_RUNTIME = 'io.chronicle.process.v1';

const TASK_STATUS = { created: 'CREATED', running: 'RUNNING', paused: 'PAUSED', exited: 'STOPPED' } as const;
const EXEC_STATUS = { added: 'CREATED', running: 'RUNNING', exited: 'STOPPED' } as const;

export interface ProcessMessage {
  container_id: string;
  id: string;
  pid: number;
  status: string;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  exit_status: number;
  exited_at: TimestampMessage;
}

/**
 * A stdio path as the client gave it. The daemon's default log files live in the bundle and
 * are not shown: ctr removes the directory of the paths it is given back (loadFifos).
 */
function shown(path: string | undefined, bundle: string): string {
  return !path || path.startsWith(bundle + '/') ? '' : path;
}

export function taskProcess(c: ContainerView, t: TaskView): ProcessMessage {
  return {
    container_id: '',
    id: c.id,
    pid: t.pid,
    status: TASK_STATUS[t.status],
    stdin: shown(t.stdio.stdin, t.bundle),
    stdout: shown(t.stdio.stdout, t.bundle),
    stderr: shown(t.stdio.stderr, t.bundle),
    terminal: false,
    exit_status: t.status === 'exited' ? (t.exitCode ?? 0) >>> 0 : 0,
    exited_at: optionalTimestamp(t.status === 'exited' ? t.exitedAt : 0),
  };
}

export function execProcess(x: ExecView, stdio: { stdin: string; stdout: string; stderr: string } | undefined): ProcessMessage {
  return {
    container_id: '',
    id: x.execId,
    pid: x.pid ?? 0,
    status: EXEC_STATUS[x.status],
    stdin: stdio?.stdin ?? '',
    stdout: stdio?.stdout ?? '',
    stderr: stdio?.stderr ?? '',
    terminal: false,
    exit_status: x.status === 'exited' ? (x.exitCode ?? 0) >>> 0 : 0,
    exited_at: optionalTimestamp(x.status === 'exited' ? x.exitedAt : 0),
  };
}

export function runtimeName(c: ContainerView): string {
  return c.containerd?.runtimeName ?? (c.runtime === 'runc' ? RUNC_RUNTIME : PROCESS_RUNTIME);
}

export interface ContainerMessageOut {
  id: string;
  labels: Record<string, string>;
  image: string;
  runtime: { name: string; options: AnyMessage | null };
  spec: AnyMessage;
  snapshotter: string;
  snapshot_key: string;
  created_at: TimestampMessage;
  updated_at: TimestampMessage;
  extensions: Record<string, AnyMessage>;
}

/** The OCI spec: as a containerd client gave it, else the bundle's config.json, else a sketch. */
async function specJson(c: ContainerView): Promise<string> {
  if (c.containerd) return c.containerd.spec;
  const written = await readFile(join(c.bundle, 'config.json'), 'utf8').catch(() => undefined);
  if (written !== undefined) return written;
  return JSON.stringify({ ociVersion: '1.0.2', process: { args: c.args, env: c.env, cwd: c.cwd }, ...(c.rootfs ? { root: { path: c.rootfs } } : {}) });
}

export async function containerMessage(c: ContainerView): Promise<ContainerMessageOut> {
  const x = c.containerd;
  return {
    id: c.id,
    labels: c.labels,
    image: x?.image ?? '',
    runtime: { name: runtimeName(c), options: x?.runtimeOptions ? { type_url: x.runtimeOptions.typeUrl, value: Buffer.from(x.runtimeOptions.value, 'base64') } : null },
    spec: { type_url: SPEC_TYPE_URL, value: Buffer.from(await specJson(c), 'utf8') },
    snapshotter: x?.snapshotter ?? '',
    snapshot_key: x?.snapshotKey ?? '',
    created_at: timestamp(c.createdAt),
    updated_at: timestamp(c.updatedAt),
    extensions: {},
  };
}

/** Field lookup for containerd filters on a container (id, image, runtime.name, labels.K, ...). */
export function containerField(c: ContainerView): (path: readonly string[]) => string | undefined {
  return (path) => {
    const [head, ...rest] = path;
    switch (head) {
      case 'id':
        return c.id;
      case 'image':
        return c.containerd?.image ?? '';
      case 'runtime':
        return rest[0] === 'name' ? runtimeName(c) : undefined;
      case 'snapshotter':
        return c.containerd?.snapshotter ?? '';
      case 'labels':
        return rest.length > 0 ? c.labels[rest.join('.')] : undefined;
      default:
        return undefined;
    }
  };
}
