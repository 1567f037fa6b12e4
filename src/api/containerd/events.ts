// containerd.services.events.v1.Events.Subscribe: chronicle's committed facts, as they are
// committed, in containerd's envelopes (topic, namespace, containerd.events.* payload).
// Like containerd, a subscriber sees every namespace's events unless it filters, and only
// events from the moment it subscribed; the stream never ends on its own. It follows the log
// through subscribe(), so a slow reader falls back to the log and misses nothing.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { EventLog } from '../../events/event-log.js';
import type { Envelope } from '../../events/schemas.js';
import { subscribe } from '../../events/subscription.js';
import type { Projector } from '../../projections/projector.js';
import { parseRequest } from '../requests.js';
import { serverStream } from './call.js';
import type { FacadeDeps } from './deps.js';
import { matchesAny, parseFilters } from './filters.js';
import { FiltersRequest } from './requests.js';
import { PROCESS_RUNTIME, RUNC_RUNTIME } from './views.js';
import { ProtoWriter, timestamp, type AnyMessage, type TimestampMessage } from './wire.js';

export interface ContainerdEnvelope {
  timestamp: TimestampMessage;
  namespace: string;
  topic: string;
  event: AnyMessage;
}

interface Proc {
  pid: number;
  exitCode: number;
  exitedAt: number;
}

/**
 * Turns facts into containerd events. TaskDelete carries the pid and exit of the process,
 * which TaskDeleted does not repeat: they are remembered from the facts before it (and from
 * the projection for tasks that existed when the subscription began).
 */
export class EnvelopeMapper {
  readonly #procs = new Map<string, Proc>();

  constructor(projector: Projector) {
    for (const c of Object.values(projector.state.containers)) {
      if (!c.task) continue;
      this.#procs.set(`${c.ns}/${c.id}/`, { pid: c.task.pid, exitCode: c.task.exitCode ?? 0, exitedAt: c.task.exitedAt ?? 0 });
      for (const x of Object.values(c.task.execs)) this.#procs.set(`${c.ns}/${c.id}/${x.execId}`, { pid: x.pid ?? 0, exitCode: x.exitCode ?? 0, exitedAt: x.exitedAt ?? 0 });
    }
  }

  #note(key: string, p: Partial<Proc>): void {
    this.#procs.set(key, { ...(this.#procs.get(key) ?? { pid: 0, exitCode: 0, exitedAt: 0 }), ...p });
  }

  #take(key: string): Proc {
    const p = this.#procs.get(key) ?? { pid: 0, exitCode: 0, exitedAt: 0 };
    this.#procs.delete(key);
    return p;
  }

  map(e: Envelope): ContainerdEnvelope | undefined {
    const key = `${e.ns}/${e.id}/`;
    const out = (topic: string, name: string, w: ProtoWriter): ContainerdEnvelope => ({
      timestamp: timestamp(e.ts),
      namespace: e.ns,
      topic,
      event: { type_url: `containerd.events.${name}`, value: w.finish() },
    });
    const exit = (execId: string, p: Proc) => new ProtoWriter().string(1, e.id).string(2, execId || e.id).uint(3, p.pid).uint(4, p.exitCode >>> 0).timestamp(5, p.exitedAt);
    const deleted = (execId: string, p: Proc) => new ProtoWriter().string(1, e.id).uint(2, p.pid).uint(3, p.exitCode >>> 0).timestamp(4, p.exitedAt).string(5, execId);
    switch (e.type) {
      case 'ContainerCreated': {
        const x = e.data.containerd;
        const runtime = new ProtoWriter().string(1, x?.runtimeName ?? (e.data.runtime === 'runc' ? RUNC_RUNTIME : PROCESS_RUNTIME));
        if (x?.runtimeOptions) runtime.any(2, { type_url: x.runtimeOptions.typeUrl, value: Buffer.from(x.runtimeOptions.value, 'base64') });
        return out('/containers/create', 'ContainerCreate', new ProtoWriter().string(1, e.id).string(2, x?.image ?? '').message(3, runtime));
      }
      case 'ContainerUpdated':
        return out('/containers/update', 'ContainerUpdate', new ProtoWriter().string(1, e.id).map(3, e.data.labels));
      case 'ContainerDeleted':
        return out('/containers/delete', 'ContainerDelete', new ProtoWriter().string(1, e.id));
      case 'TaskCreated': {
        const d = e.data;
        this.#note(key, { pid: d.pid, exitCode: 0, exitedAt: 0 });
        const io = new ProtoWriter().string(1, d.stdio.stdin ?? '').string(2, d.stdio.stdout).string(3, d.stdio.stderr);
        return out('/tasks/create', 'TaskCreate', new ProtoWriter().string(1, e.id).string(2, d.bundle).message(4, io).uint(6, d.pid));
      }
      case 'TaskStarted':
        this.#note(key, { pid: e.data.pid });
        return out('/tasks/start', 'TaskStart', new ProtoWriter().string(1, e.id).uint(2, e.data.pid));
      case 'TaskExited': {
        const p = { pid: e.data.pid, exitCode: e.data.exitCode, exitedAt: e.data.exitedAt };
        this.#note(key, p);
        return out('/tasks/exit', 'TaskExit', exit('', p));
      }
      case 'TaskDeleted': {
        const p = this.#take(key);
        for (const k of [...this.#procs.keys()]) if (k.startsWith(key)) this.#procs.delete(k);
        return out('/tasks/delete', 'TaskDelete', deleted('', { ...p, exitCode: e.data.exitCode ?? p.exitCode }));
      }
      case 'TaskPaused':
        return out('/tasks/paused', 'TaskPaused', new ProtoWriter().string(1, e.id));
      case 'TaskResumed':
        return out('/tasks/resumed', 'TaskResumed', new ProtoWriter().string(1, e.id));
      case 'TaskOOM':
        return out('/tasks/oom', 'TaskOOM', new ProtoWriter().string(1, e.id));
      case 'TaskCheckpointed':
        return out('/tasks/checkpointed', 'TaskCheckpointed', new ProtoWriter().string(1, e.id).string(2, e.data.digest || e.data.checkpointId));
      case 'TaskRestored':
        this.#note(key, { pid: e.data.pid, exitCode: 0, exitedAt: 0 });
        return out('/tasks/start', 'TaskStart', new ProtoWriter().string(1, e.id).uint(2, e.data.pid));
      case 'ExecAdded':
        return out('/tasks/exec-added', 'TaskExecAdded', new ProtoWriter().string(1, e.id).string(2, e.data.execId));
      case 'ExecStarted':
        this.#note(key + e.data.execId, { pid: e.data.pid });
        return out('/tasks/exec-started', 'TaskExecStarted', new ProtoWriter().string(1, e.id).string(2, e.data.execId).uint(3, e.data.pid));
      case 'ExecExited': {
        const p = { pid: e.data.pid, exitCode: e.data.exitCode, exitedAt: e.data.exitedAt };
        this.#note(key + e.data.execId, p);
        return out('/tasks/exit', 'TaskExit', exit(e.data.execId, p));
      }
      case 'ExecDeleted':
        return out('/tasks/delete', 'TaskDelete', deleted(e.data.execId, this.#take(key + e.data.execId)));
      case 'NamespaceCreated':
        return out('/namespaces/create', 'NamespaceCreate', new ProtoWriter().string(1, e.ns).map(2, e.data.labels));
      case 'NamespaceDeleted':
        return out('/namespaces/delete', 'NamespaceDelete', new ProtoWriter().string(1, e.ns));
      default:
        // Shim, daemon, audit and log maintenance facts have no containerd counterpart.
        return undefined;
    }
  }
}

export function eventsService(deps: FacadeDeps & { log: EventLog }): UntypedServiceImplementation {
  const { env, log, projector } = deps;
  return {
    Subscribe: serverStream<ContainerdEnvelope>(env, 'containerd.events.Subscribe', async (raw, ctx, write, signal) => {
      if (ctx.nsError) throw ctx.nsError;
      const filters = parseFilters(parseRequest(FiltersRequest, raw).filters);
      const mapper = new EnvelopeMapper(projector);
      for await (const e of subscribe(log, { fromSeq: log.head().seq + 1, follow: true, signal, ...(ctx.confined ? { filter: { ns: ctx.ns } } : {}) })) {
        const env = mapper.map(e);
        if (!env) continue;
        if (!matchesAny(filters, ([f]) => (f === 'topic' ? env.topic : f === 'namespace' ? env.namespace : undefined))) continue;
        await write(env);
      }
    }),
  };
}
