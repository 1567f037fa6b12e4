// containerd.services.tasks.v1.Tasks over chronicle's core. Every mutating call goes
// validate -> lock -> decide -> shim -> facts + audit (Mutations.run), as chronicle.v1's
// Tasks does; exits come from the shims' Events streams (ShimManager), and Wait returns once
// the exit is in the log. containerd's two-step exec (Exec, then Start{exec_id}) is
// ExecAdded, then the shim's exec and ExecStarted.
import { randomBytes } from 'node:crypto';
import { statfsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { filter } from 'rxjs';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { onPath } from '../../config.js';
import { ChronicleError, isChronicleError } from '../../errors.js';
import type { Fact } from '../../events/schemas.js';
import { decide } from '../../projections/decide.js';
import { findContainer, type ContainerView, type TaskView } from '../../projections/state.js';
import type { CallContext } from '../audit.js';
import { parseRequest } from '../requests.js';
import { notFound, unary, unimplemented } from './call.js';
import type { FacadeDeps } from './deps.js';
import { matchesAny, parseFilters } from './filters.js';
import {
  anyJson,
  CheckpointRequest,
  checkpointOptions,
  CloseIORequest,
  ContainerRef,
  CreateTaskRequest,
  ExecRequest,
  FiltersRequest,
  KillRequest,
  OciProcess,
  PROCESS_TYPE_URL,
  ProcessRef,
  rawWithId,
  withId,
} from './requests.js';
import { execProcess, taskProcess } from './views.js';
import { GO_ZERO_TIME, optionalTimestamp, ProtoWriter, timestamp, type AnyMessage } from './wire.js';

interface PendingExec {
  env: string[];
  cwd: string;
  stdin: string;
  stdout: string;
  stderr: string;
  /** CloseIO came before the exec's Start had been recorded. */
  stdinClosed?: boolean;
}

const CGROUP2 = 0x63677270;

/** cgroup v2 (unified) hosts get io.containerd.cgroups.v2.Metrics; others v1. */
function unifiedCgroups(): boolean {
  try {
    return statfsSync('/sys/fs/cgroup').type === CGROUP2;
  } catch {
    return false;
  }
}

/** io.containerd.cgroups.v{1,2}.Metrics with what the shim measures (cpu, memory, pids). */
function metricsAny(s: { cpuUsageNs: number; memoryBytes: number; pids: number }, v2: boolean): AnyMessage {
  if (v2) {
    const m = new ProtoWriter()
      .message(1, new ProtoWriter().uint(1, s.pids))
      .message(2, new ProtoWriter().uint(1, Math.floor(s.cpuUsageNs / 1000)))
      .message(4, new ProtoWriter().uint(32, s.memoryBytes));
    return { type_url: 'io.containerd.cgroups.v2.Metrics', value: m.finish() };
  }
  // ctr's v1 table reads memory.usage and cpu.usage without nil checks: both are always set.
  const m = new ProtoWriter()
    .message(2, new ProtoWriter().uint(1, s.pids))
    .message(3, new ProtoWriter().message(1, new ProtoWriter().uint(1, s.cpuUsageNs)))
    .message(4, new ProtoWriter().message(33, new ProtoWriter().uint(2, s.memoryBytes)));
  return { type_url: 'io.containerd.cgroups.v1.Metrics', value: m.finish() };
}

export function tasksService(deps: FacadeDeps): UntypedServiceImplementation {
  const { env, log, projector, mutations, shims } = deps;
  /** Stdio and process details of execs between Exec and DeleteProcess (ns/id/execId). */
  const pending = new Map<string, PendingExec>();
  const pendingKey = (ns: string, id: string, execId: string): string => `${ns}/${id}/${execId}`;
  const v2 = unifiedCgroups();

  const taskOf = (ctx: CallContext, id: string): { c: ContainerView; t: TaskView } => {
    const c = findContainer(projector.state, ctx.ns, id);
    if (!c?.task) throw notFound.task(id);
    return { c, t: c.task };
  };
  const decided = (ctx: CallContext, cmd: Parameters<typeof decide>[1]): ContainerView => {
    const d = decide(projector.state, cmd, ctx.actor);
    if (!d.ok) throw d.error;
    return d.container!;
  };
  const shimOf = (t: TaskView) => shims.clientOf(t);

  /** Resolves once the log holds the exit of the task or exec (at once if it does). */
  const exitLogged = async (ctx: CallContext, id: string, execId: string, signal: AbortSignal): Promise<{ exitCode: number; exitedAt: number }> => {
    const done = (): { exitCode: number; exitedAt: number } | undefined => {
      const { t } = taskOf(ctx, id);
      if (execId) {
        const x = t.execs[execId];
        if (!x) throw notFound.exec(id, execId);
        return x.status === 'exited' ? { exitCode: x.exitCode ?? 0, exitedAt: x.exitedAt ?? 0 } : undefined;
      }
      return t.status === 'exited' ? { exitCode: t.exitCode ?? 0, exitedAt: t.exitedAt ?? 0 } : undefined;
    };
    // One subscription per wait, dropped on the exit or when the client goes away (a
    // cancelled Wait leaves nothing listening behind).
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        sub.unsubscribe();
        signal.removeEventListener('abort', onAbort);
      };
      const check = (): void => {
        try {
          const r = done();
          if (r) {
            finish();
            resolve(r);
          }
        } catch (e) {
          finish();
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      };
      const onAbort = (): void => {
        finish();
        reject(new ChronicleError('UNAVAILABLE', 'wait cancelled'));
      };
      const sub = log.committed$.pipe(filter((e) => e.ns === ctx.ns && e.id === id)).subscribe(check);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
      else check();
    });
  };

  return {
    Create: unary(env, 'containerd.tasks.Create', (raw, ctx) =>
      mutations.run(ctx, rawWithId(raw, 'container_id'), withId(CreateTaskRequest), async (req) => {
        const existing = findContainer(projector.state, ctx.ns, req.id);
        if (!existing) throw notFound.container(ctx.ns, req.id);
        if (existing.task) throw new ChronicleError('ALREADY_EXISTS', `task ${req.id}: already exists`, { id: req.id });
        const c = decided(ctx, { type: 'CreateTask', ns: ctx.ns, id: req.id });
        const shim = await shims.ensure(ctx, c);
        const created = await shim.client.create({
          id: c.id,
          bundle: c.bundle,
          runtime: c.runtime,
          runcRoot: shims.runcRootFor(ctx.ns),
          args: c.runtime === 'process' ? c.args : [],
          env: c.env,
          cwd: c.cwd,
          stdin: req.stdin,
          stdout: req.stdout,
          stderr: req.stderr,
        });
        const facts: Fact[] = [
          ...(shim.ready ? [shim.ready] : []),
          {
            type: 'TaskCreated',
            ns: ctx.ns,
            id: c.id,
            actor: ctx.actor,
            data: { pid: created.pid, shim: { address: shim.address, pid: shim.pid }, bundle: c.bundle, stdio: { ...(req.stdin ? { stdin: req.stdin } : {}), stdout: created.stdout, stderr: created.stderr } },
          },
        ];
        return { facts, reply: { container_id: c.id, pid: created.pid } };
      }),
    ),

    Start: unary(env, 'containerd.tasks.Start', (raw, ctx) =>
      mutations.run(ctx, rawWithId(raw, 'container_id'), withId(ProcessRef), async (req) => {
        const { t } = taskOf(ctx, req.id);
        if (!req.exec_id) {
          const c = decided(ctx, { type: 'StartTask', ns: ctx.ns, id: req.id });
          await shimOf(t).start(c.id);
          return { facts: [{ type: 'TaskStarted', ns: ctx.ns, id: c.id, actor: ctx.actor, data: { pid: t.pid } }], reply: { pid: t.pid } };
        }
        if (!t.execs[req.exec_id]) throw notFound.exec(req.id, req.exec_id);
        const c = decided(ctx, { type: 'StartExec', ns: ctx.ns, id: req.id, execId: req.exec_id });
        const x = c.task!.execs[req.exec_id]!;
        // After a daemon restart the stdio of an exec not yet started is gone: it then writes
        // to files in the bundle, as chronicle.v1's execs do.
        const p = pending.get(pendingKey(ctx.ns, req.id, req.exec_id));
        const started = await shimOf(t).exec(c.id, req.exec_id, x.args, { env: p?.env ?? [], cwd: p?.cwd ?? '', stdin: p?.stdin ?? '', stdout: p?.stdout ?? '', stderr: p?.stderr ?? '' });
        if (p?.stdinClosed) await shimOf(t).closeIO(c.id, req.exec_id);
        return { facts: [{ type: 'ExecStarted', ns: ctx.ns, id: c.id, actor: ctx.actor, data: { execId: req.exec_id, pid: started.pid } }], reply: { pid: started.pid } };
      }),
    ),

    Delete: unary(env, 'containerd.tasks.Delete', (raw, ctx) =>
      mutations.run(ctx, rawWithId(raw, 'container_id'), withId(ContainerRef), async (req) => {
        const { t } = taskOf(ctx, req.id);
        if (t.status === 'running' || t.status === 'paused') {
          throw new ChronicleError('TASK_STATE', `task must be stopped before deletion: ${t.status}: failed precondition`, { id: req.id, status: t.status });
        }
        const c = decided(ctx, { type: 'DeleteTask', ns: ctx.ns, id: req.id, force: false });
        for (const k of pending.keys()) if (k.startsWith(`${ctx.ns}/${req.id}/`)) pending.delete(k);
        const reply = (exitCode: number, exitedAt: number) => ({ id: '', pid: t.pid, exit_status: exitCode >>> 0, exited_at: optionalTimestamp(exitedAt) });
        // A task whose shim was lost has nothing left to delete but its record.
        if (t.status === 'exited' && (t.exitReason === 'shim-lost' || projector.state.shims[t.shim.address]?.status === 'lost')) {
          return { facts: [{ type: 'TaskDeleted', ns: ctx.ns, id: c.id, actor: ctx.actor, data: { exitCode: t.exitCode } }], reply: reply(t.exitCode ?? 0, t.exitedAt ?? 0) };
        }
        const exit = await shimOf(t).delete(c.id);
        const after = projector.state.containers[`${ctx.ns}/${c.id}`]?.task;
        const exitCode = after?.status === 'exited' ? (after.exitCode ?? exit.exitCode) : exit.exitCode;
        const exitedAt = after?.exitedAt ?? exit.exitedAt;
        const shim = projector.state.shims[t.shim.address];
        // The shim exits once it hosts nothing more: stop following it.
        if (shim && shim.containers.length <= 1) shims.release(t.shim.address);
        return { facts: [{ type: 'TaskDeleted', ns: ctx.ns, id: c.id, actor: ctx.actor, data: { exitCode } }], reply: reply(exitCode, exitedAt) };
      }),
    ),

    DeleteProcess: unary(env, 'containerd.tasks.DeleteProcess', (raw, ctx) =>
      mutations.run(ctx, rawWithId(raw, 'container_id'), withId(ProcessRef), async (req) => {
        const { t } = taskOf(ctx, req.id);
        const x = t.execs[req.exec_id];
        if (!req.exec_id || !x) throw notFound.exec(req.id, req.exec_id);
        const d = decide(projector.state, { type: 'DeleteExec', ns: ctx.ns, id: req.id, execId: req.exec_id }, ctx.actor);
        if (!d.ok) throw d.error;
        pending.delete(pendingKey(ctx.ns, req.id, req.exec_id));
        return { facts: d.facts, reply: { id: x.execId, pid: x.pid ?? 0, exit_status: (x.exitCode ?? 0) >>> 0, exited_at: optionalTimestamp(x.exitedAt) } };
      }),
    ),

    Get: unary(env, 'containerd.tasks.Get', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(ProcessRef, raw);
      const { c, t } = taskOf(ctx, req.container_id);
      if (!req.exec_id) return { process: taskProcess(c, t) };
      const x = t.execs[req.exec_id];
      if (!x) throw notFound.exec(req.container_id, req.exec_id);
      return { process: execProcess(x, pending.get(pendingKey(ctx.ns, c.id, x.execId))) };
    }),

    List: unary(env, 'containerd.tasks.List', async (_raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const tasks = Object.values(projector.state.containers)
        .filter((c) => c.ns === ctx.ns && c.task)
        .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
        .map((c) => taskProcess(c, c.task!));
      return { tasks };
    }),

    Kill: unary(env, 'containerd.tasks.Kill', (raw, ctx) =>
      mutations.run(ctx, rawWithId(raw, 'container_id'), withId(KillRequest), async (req) => {
        const { t } = taskOf(ctx, req.id);
        if (req.exec_id) {
          const x = t.execs[req.exec_id];
          if (!x) throw notFound.exec(req.id, req.exec_id);
          if (x.status === 'exited') throw new ChronicleError('NOT_FOUND', 'process already finished: not found', { id: req.id, execId: req.exec_id });
        } else if (t.status === 'exited') throw new ChronicleError('NOT_FOUND', 'process already finished: not found', { id: req.id });
        const signal = req.signal === 0 ? 15 : req.signal;
        const c = decided(ctx, { type: 'KillTask', ns: ctx.ns, id: req.id, ...(req.exec_id ? { execId: req.exec_id } : {}) });
        await shimOf(t).kill(c.id, signal, { all: req.all, execId: req.exec_id });
        return { facts: [], reply: {} };
      }),
    ),

    Exec: unary(env, 'containerd.tasks.Exec', (raw, ctx) =>
      mutations.run(ctx, rawWithId(raw, 'container_id'), withId(ExecRequest), async (req) => {
        const proc = anyJson(OciProcess, req.spec, PROCESS_TYPE_URL, 'spec');
        const { t } = taskOf(ctx, req.id);
        if (t.execs[req.exec_id]) throw new ChronicleError('ALREADY_EXISTS', `id ${req.exec_id}: already exists`, { id: req.id, execId: req.exec_id });
        const c = decided(ctx, { type: 'ExecProcess', ns: ctx.ns, id: req.id, execId: req.exec_id });
        pending.set(pendingKey(ctx.ns, c.id, req.exec_id), { env: proc.env, cwd: proc.cwd, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr });
        const data = { execId: req.exec_id, args: proc.args, ...(proc.env.length ? { env: proc.env } : {}), ...(proc.cwd ? { cwd: proc.cwd } : {}) };
        return { facts: [{ type: 'ExecAdded', ns: ctx.ns, id: c.id, actor: ctx.actor, data }], reply: {} };
      }),
    ),

    // Plumbing, not a change of state: no fact, no audit record (as Get and Wait).
    CloseIO: unary(env, 'containerd.tasks.CloseIO', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(CloseIORequest, raw);
      const { t } = taskOf(ctx, req.container_id);
      const x = req.exec_id ? t.execs[req.exec_id] : undefined;
      if (req.exec_id && !x) throw notFound.exec(req.container_id, req.exec_id);
      if (!req.stdin) return {};
      if (x?.status === 'added') {
        // Its Start may be under way (the shim has it, the log not yet): tell both.
        const p = pending.get(pendingKey(ctx.ns, req.container_id, x.execId));
        if (p) p.stdinClosed = true;
        await shimOf(t)
          .closeIO(req.container_id, req.exec_id)
          .catch((e: unknown) => {
            if (!(isChronicleError(e) && (e.code === 'NOT_FOUND' || e.code === 'CONTAINER_NOT_FOUND'))) throw e;
          });
        return {};
      }
      // Nothing is still open for a process that exited.
      if (x ? x.status === 'running' : t.status !== 'exited') await shimOf(t).closeIO(req.container_id, req.exec_id);
      return {};
    }),

    Pause: unary(env, 'containerd.tasks.Pause', (raw, ctx) =>
      mutations.run(ctx, rawWithId(raw, 'container_id'), withId(ContainerRef), async (req) => {
        const { t } = taskOf(ctx, req.id);
        const c = decided(ctx, { type: 'PauseTask', ns: ctx.ns, id: req.id });
        await shimOf(t).pause(c.id);
        return { facts: [{ type: 'TaskPaused', ns: ctx.ns, id: c.id, actor: ctx.actor, data: {} }], reply: {} };
      }),
    ),

    Resume: unary(env, 'containerd.tasks.Resume', (raw, ctx) =>
      mutations.run(ctx, rawWithId(raw, 'container_id'), withId(ContainerRef), async (req) => {
        const { t } = taskOf(ctx, req.id);
        const c = decided(ctx, { type: 'ResumeTask', ns: ctx.ns, id: req.id });
        await shimOf(t).resume(c.id);
        return { facts: [{ type: 'TaskResumed', ns: ctx.ns, id: c.id, actor: ctx.actor, data: {} }], reply: {} };
      }),
    ),

    ListPids: unary(env, 'containerd.tasks.ListPids', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(ContainerRef, raw);
      const { c, t } = taskOf(ctx, req.container_id);
      const pids = t.status === 'exited' ? [] : await shimOf(t).pids(c.id);
      const execOf = new Map(Object.values(t.execs).filter((x) => x.pid !== null && x.status === 'running').map((x) => [x.pid!, x.execId]));
      return {
        processes: pids.map((pid) => {
          const execId = execOf.get(pid);
          // containerd.runc.v1.ProcessDetails{1 exec_id}, as runc's shim marks exec pids.
          return { pid, info: execId ? { type_url: 'containerd.runc.v1.ProcessDetails', value: new ProtoWriter().string(1, execId).finish() } : null };
        }),
      };
    }),

    // `ctr t checkpoint --image-path P [--work-path W] [--exit]`: CRIU writes the image
    // into P (as containerd's runc shim does), recorded as TaskCheckpointed (+ TaskExited
    // with --exit). Without an image path containerd stores the image in its content store
    // and image service, which chronicle does not serve.
    Checkpoint: unary(env, 'containerd.tasks.Checkpoint', (raw, ctx) =>
      mutations.run(ctx, rawWithId(raw, 'container_id'), withId(CheckpointRequest), async (req) => {
        const { t } = taskOf(ctx, req.id);
        const opts = checkpointOptions(req.options);
        if (!opts.imagePath) throw unimplemented('checkpoint without --image-path (containerd keeps such images in its content store, which chronicle does not serve): give --image-path');
        const checkpointId = `${req.id.slice(0, 60)}-${randomBytes(4).toString('hex')}`;
        const c = decided(ctx, { type: 'CheckpointTask', ns: ctx.ns, id: req.id, checkpointId });
        const criu = onPath(deps.criu);
        if (!criu) throw new ChronicleError('FAILED_PRECONDITION', `CRIU is not installed at ${deps.criu}: run scripts/install-criu.sh, or point --criu at a CRIU 4 binary`, { criu: deps.criu });
        await mkdir(opts.imagePath, { recursive: true, mode: 0o700 });
        const paused = t.status === 'paused';
        const cp = await shimOf(t).checkpoint({ id: c.id, imagePath: opts.imagePath, workPath: opts.workPath || opts.imagePath, leaveRunning: !opts.exit, criu });
        const facts: Fact[] = [
          {
            type: 'TaskCheckpointed',
            ns: ctx.ns,
            id: c.id,
            actor: ctx.actor,
            data: { checkpointId, imagePath: opts.imagePath, bytes: cp.bytes, digest: cp.digest, leftRunning: cp.leftRunning, durationMs: Math.round(cp.durationMs * 1000) / 1000, paused },
          },
        ];
        if (cp.exited && cp.exit) {
          facts.push({ type: 'TaskExited', ns: ctx.ns, id: c.id, actor: ctx.actor, data: { pid: cp.pid, exitCode: cp.exit.exitCode, signal: cp.exit.signal || null, exitedAt: cp.exit.exitedAt, reason: 'checkpointed' } });
        }
        return { facts, reply: { descriptors: [] } };
      }),
    ),

    ResizePty: unary(env, 'containerd.tasks.ResizePty', async () => {
      throw unimplemented('ResizePty: terminals are not supported');
    }),

    Update: unary(env, 'containerd.tasks.Update', async () => {
      throw unimplemented('task resource updates');
    }),

    Metrics: unary(env, 'containerd.tasks.Metrics', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(FiltersRequest, raw);
      const filters = parseFilters(req.filters);
      const live = Object.values(projector.state.containers).filter(
        (c) => c.ns === ctx.ns && c.task && c.task.status !== 'exited' && matchesAny(filters, (p) => (p.length === 1 && p[0] === 'id' ? c.id : p[0] === 'namespace' ? c.ns : undefined)),
      );
      const metrics = [];
      for (const c of live) {
        const stats = await shimOf(c.task!).stats(c.id).catch(() => undefined);
        if (stats) metrics.push({ timestamp: timestamp(Date.now()), id: c.id, data: metricsAny(stats, v2) });
      }
      return { metrics };
    }),

    Wait: unary(env, 'containerd.tasks.Wait', async (raw, ctx, signal) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(ProcessRef, raw);
      taskOf(ctx, req.container_id);
      const e = await exitLogged(ctx, req.container_id, req.exec_id, signal);
      return { exit_status: e.exitCode >>> 0, exited_at: e.exitedAt ? timestamp(e.exitedAt) : GO_ZERO_TIME };
    }),
  };
}
