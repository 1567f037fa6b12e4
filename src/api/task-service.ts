// chronicle.v1.Tasks: each mutating call goes validate -> lock -> decide -> shim -> facts.
// Exits are not written here: they come from the shim's Events stream (ShimManager), with
// the shim's exit time; Wait returns once the exit is in the log.
import { filter, firstValueFrom } from 'rxjs';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { crashPoint } from '../crash-points.js';
import { ChronicleError } from '../errors.js';
import type { EventLog } from '../events/event-log.js';
import type { Fact } from '../events/schemas.js';
import { decide } from '../projections/decide.js';
import type { Projector } from '../projections/projector.js';
import { findContainer, type ContainerView, type TaskView } from '../projections/state.js';
import type { CallContext } from './audit.js';
import { taskMessage } from './container-service.js';
import { serverStream, unary, type HandlerEnv } from './handler.js';
import type { Mutations } from './mutation.js';
import { CreateTaskRequest, DeleteTaskRequest, ExecRequest, KillRequest, LogsRequest, parseRequest, TaskRef, WaitRequest } from './requests.js';
import type { ShimManager } from './shim-manager.js';

export interface TaskServiceDeps {
  env: HandlerEnv;
  log: EventLog;
  projector: Projector;
  mutations: Mutations;
  shims: ShimManager;
}

function decided(projector: Projector, ctx: CallContext, cmd: Parameters<typeof decide>[1]): ContainerView {
  const d = decide(projector.state, cmd, ctx.actor);
  if (!d.ok) throw d.error;
  return d.container!;
}

export function taskService(deps: TaskServiceDeps): UntypedServiceImplementation {
  const { env, log, projector, mutations, shims } = deps;

  const shimOf = (t: TaskView) => shims.clientOf(t);

  const reply = (ctx: CallContext, id: string) => {
    const c = findContainer(projector.state, ctx.ns, id);
    return { task: c?.task ? taskMessage(c, c.task) : undefined };
  };

  /** Resolves once the log holds the exit of the task (or exec), at once if it does. */
  const exitLogged = async (ctx: CallContext, id: string, execId: string, signal?: AbortSignal): Promise<{ exitCode: number; exitedAt: number; signal: string }> => {
    const done = () => {
      const t = findContainer(projector.state, ctx.ns, id)?.task;
      if (!t) throw new ChronicleError('NOT_FOUND', `container ${id} has no task`, { id });
      if (execId) {
        const x = t.execs[execId];
        if (!x) throw new ChronicleError('NOT_FOUND', `exec ${execId} not found in ${id}`, { id, execId });
        return x.status === 'exited' ? { exitCode: x.exitCode ?? 0, exitedAt: x.exitedAt ?? 0, signal: '' } : undefined;
      }
      return t.status === 'exited' ? { exitCode: t.exitCode ?? 0, exitedAt: t.exitedAt ?? 0, signal: t.exitSignal ?? '' } : undefined;
    };
    for (;;) {
      const next = firstValueFrom(log.committed$.pipe(filter((e) => e.ns === ctx.ns && e.id === id)));
      const r = done();
      if (r) return r;
      if (signal?.aborted) throw new ChronicleError('UNAVAILABLE', 'wait cancelled');
      await Promise.race([next, new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new ChronicleError('UNAVAILABLE', 'wait cancelled')), { once: true }))]);
    }
  };

  return {
    Create: unary(env, 'tasks.Create', (raw, ctx) =>
      mutations.run(ctx, raw, (r) => parseRequest(CreateTaskRequest, r), async (req) => {
        const c = decided(projector, ctx, { type: 'CreateTask', ns: ctx.ns, id: req.id });
        const shim = await shims.ensure(ctx, c);
        const created = await shim.client.create({
          id: c.id,
          bundle: c.bundle,
          runtime: c.runtime,
          runcRoot: shims.runcRootFor(ctx.ns),
          args: c.runtime === 'process' ? c.args : [],
          env: c.env,
          cwd: c.cwd,
          stdout: req.stdout,
          stderr: req.stderr,
        });
        const facts = [
          ...(shim.ready ? [shim.ready] : []),
          {
            type: 'TaskCreated' as const,
            ns: ctx.ns,
            id: c.id,
            actor: ctx.actor,
            data: { pid: created.pid, shim: { address: shim.address, pid: shim.pid }, bundle: c.bundle, stdio: { stdout: created.stdout, stderr: created.stderr } },
          },
        ];
        return { facts, reply: { task: { id: c.id, namespace: ctx.ns, status: 'created', pid: created.pid, shimAddress: shim.address, shimPid: shim.pid, stdout: created.stdout, stderr: created.stderr } } };
      }),
    ),
    Start: unary(env, 'tasks.Start', (raw, ctx) =>
      mutations.run(ctx, raw, (r) => parseRequest(TaskRef, r), async (req) => {
        const c = decided(projector, ctx, { type: 'StartTask', ns: ctx.ns, id: req.id });
        const t = c.task!;
        await shimOf(t).start(c.id);
        crashPoint('task.after-start');
        return { facts: [{ type: 'TaskStarted', ns: ctx.ns, id: c.id, actor: ctx.actor, data: { pid: t.pid } }], reply: { task: { ...taskMessage(c, t), status: 'running' } } };
      }),
    ),
    Pause: unary(env, 'tasks.Pause', (raw, ctx) =>
      mutations.run(ctx, raw, (r) => parseRequest(TaskRef, r), async (req) => {
        const c = decided(projector, ctx, { type: 'PauseTask', ns: ctx.ns, id: req.id });
        await shimOf(c.task!).pause(c.id);
        return { facts: [{ type: 'TaskPaused', ns: ctx.ns, id: c.id, actor: ctx.actor, data: {} }], reply: { task: { ...taskMessage(c, c.task!), status: 'paused' } } };
      }),
    ),
    Resume: unary(env, 'tasks.Resume', (raw, ctx) =>
      mutations.run(ctx, raw, (r) => parseRequest(TaskRef, r), async (req) => {
        const c = decided(projector, ctx, { type: 'ResumeTask', ns: ctx.ns, id: req.id });
        await shimOf(c.task!).resume(c.id);
        return { facts: [{ type: 'TaskResumed', ns: ctx.ns, id: c.id, actor: ctx.actor, data: {} }], reply: { task: { ...taskMessage(c, c.task!), status: 'running' } } };
      }),
    ),
    Kill: unary(env, 'tasks.Kill', (raw, ctx) =>
      mutations.run(ctx, raw, (r) => parseRequest(KillRequest, r), async (req) => {
        const c = decided(projector, ctx, { type: 'KillTask', ns: ctx.ns, id: req.id, ...(req.execId ? { execId: req.execId } : {}) });
        await shimOf(c.task!).kill(c.id, req.signal, { all: req.all, execId: req.execId });
        crashPoint('task.after-kill');
        return { facts: [], reply: {} };
      }),
    ),
    Exec: unary(env, 'tasks.Exec', (raw, ctx) =>
      mutations.run(ctx, raw, (r) => parseRequest(ExecRequest, r), async (req) => {
        const c = decided(projector, ctx, { type: 'ExecProcess', ns: ctx.ns, id: req.id, execId: req.execId });
        const x = await shimOf(c.task!).exec(c.id, req.execId, req.args, { env: req.env, cwd: req.cwd });
        return {
          facts: [
            { type: 'ExecAdded', ns: ctx.ns, id: c.id, actor: ctx.actor, data: { execId: req.execId, args: req.args, ...(req.env.length ? { env: req.env } : {}), ...(req.cwd ? { cwd: req.cwd } : {}) } },
            { type: 'ExecStarted', ns: ctx.ns, id: c.id, actor: ctx.actor, data: { execId: req.execId, pid: x.pid } },
          ],
          reply: x,
        };
      }),
    ),
    Wait: unary(env, 'tasks.Wait', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(WaitRequest, raw);
      if (!findContainer(projector.state, ctx.ns, req.id)) throw new ChronicleError('CONTAINER_NOT_FOUND', `container ${req.id} not found`, { id: req.id });
      return exitLogged(ctx, req.id, req.execId);
    }),
    Delete: unary(env, 'tasks.Delete', (raw, ctx) =>
      mutations.run(ctx, raw, (r) => parseRequest(DeleteTaskRequest, r), async (req) => {
        const c = decided(projector, ctx, { type: 'DeleteTask', ns: ctx.ns, id: req.id, force: req.force });
        const t = c.task!;
        const facts: Fact[] = [];
        // A task whose shim was lost has nothing left to delete but its record.
        if (t.status === 'exited' && (t.exitReason === 'shim-lost' || projector.state.shims[t.shim.address]?.status === 'lost')) {
          facts.push({ type: 'TaskDeleted', ns: ctx.ns, id: c.id, actor: ctx.actor, data: { exitCode: t.exitCode } });
          return { facts, reply: { exitCode: t.exitCode ?? 0, exitedAt: t.exitedAt ?? 0 } };
        }
        const client = shimOf(t);
        if (t.status !== 'exited' && t.status !== 'created') {
          // Forced: kill and record the exit here, in this call's batch (the shim's own
          // report of it waits for this call's lock and then finds the task gone).
          await client.kill(c.id, 9, { all: true });
          const e = await client.wait(c.id, '', 30_000);
          facts.push({ type: 'TaskExited', ns: ctx.ns, id: c.id, actor: ctx.actor, data: { pid: t.pid, exitCode: e.exitCode, signal: e.signal || null, exitedAt: e.exitedAt, reason: 'killed' } });
        }
        const exit = await client.delete(c.id);
        crashPoint('task.after-delete');
        const after = projector.state.containers[`${ctx.ns}/${c.id}`]?.task;
        const exitCode = after?.status === 'exited' ? (after.exitCode ?? exit.exitCode) : exit.exitCode;
        const shim = projector.state.shims[t.shim.address];
        // The shim exits once it hosts nothing more: stop following it.
        if (shim && shim.containers.length <= 1) shims.release(t.shim.address);
        facts.push({ type: 'TaskDeleted', ns: ctx.ns, id: c.id, actor: ctx.actor, data: { exitCode } });
        return { facts, reply: { exitCode, exitedAt: after?.exitedAt ?? exit.exitedAt } };
      }),
    ),
    Get: unary(env, 'tasks.Get', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(TaskRef, raw);
      const c = findContainer(projector.state, ctx.ns, req.id);
      if (!c) throw new ChronicleError('CONTAINER_NOT_FOUND', `container ${req.id} not found`, { id: req.id });
      if (!c.task) throw new ChronicleError('NOT_FOUND', `container ${req.id} has no task`, { id: req.id });
      return reply(ctx, req.id);
    }),
    List: unary(env, 'tasks.List', async (_raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const tasks = Object.values(projector.state.containers)
        .filter((c) => c.ns === ctx.ns && c.task)
        .map((c) => taskMessage(c, c.task!));
      return { tasks };
    }),
    Pids: unary(env, 'tasks.Pids', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(TaskRef, raw);
      const c = findContainer(projector.state, ctx.ns, req.id);
      if (!c?.task) throw new ChronicleError('NOT_FOUND', `container ${req.id} has no task`, { id: req.id });
      return { pids: await shimOf(c.task).pids(c.id) };
    }),
    Stats: unary(env, 'tasks.Stats', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(TaskRef, raw);
      const c = findContainer(projector.state, ctx.ns, req.id);
      if (!c?.task) throw new ChronicleError('NOT_FOUND', `container ${req.id} has no task`, { id: req.id });
      return shimOf(c.task).stats(c.id);
    }),
    Logs: serverStream<{ stream: string; data: Buffer }>(env, 'tasks.Logs', async (raw, ctx, write, signal) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(LogsRequest, raw);
      const c = findContainer(projector.state, ctx.ns, req.id);
      if (!c?.task) throw new ChronicleError('NOT_FOUND', `container ${req.id} has no task`, { id: req.id });
      for await (const chunk of shimOf(c.task).logs(c.id, { follow: req.follow, stream: req.stream, signal })) await write(chunk);
    }),
  };
}
