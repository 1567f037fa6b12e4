// decide(state, command) -> facts | error, pure. It refuses a command the state does not
// allow BEFORE any side effect (a kill of a deleted task is TASK_STATE/NOT_FOUND, not a shim
// call). Facts that only the side effect can know (pids, exit codes) are built by the
// caller after it; for those commands decide returns ok with no facts.
import { assertNever, ChronicleError } from '../errors.js';
import type { Fact } from '../events/schemas.js';
import type { Command } from './commands.js';
import { containerKey, type ContainerView, type State, type TaskStatus } from './state.js';

export type Decision = { ok: true; facts: Fact[]; container?: ContainerView } | { ok: false; error: ChronicleError };

const refuse = (code: ChronicleError['code'], message: string, details: Record<string, unknown> = {}): Decision => ({
  ok: false,
  error: new ChronicleError(code, message, details),
});

function needTask(c: ContainerView, allowedFrom: readonly TaskStatus[], what: string): Decision | undefined {
  if (!c.task) return refuse('NOT_FOUND', `container ${c.id} has no task`, { id: c.id });
  if (!allowedFrom.includes(c.task.status)) {
    return refuse('TASK_STATE', `cannot ${what} task ${c.id}: it is ${c.task.status}`, { id: c.id, status: c.task.status });
  }
  return undefined;
}

export function decide(state: State, cmd: Command, actor = 'daemon'): Decision {
  const c = state.containers[containerKey(cmd.ns, cmd.id)];
  if (cmd.type === 'CreateContainer') {
    if (c) return refuse('CONTAINER_EXISTS', `container ${cmd.id} already exists`, { id: cmd.id });
    return { ok: true, facts: [{ type: 'ContainerCreated', ns: cmd.ns, id: cmd.id, actor, data: cmd.spec }] };
  }
  if (cmd.type === 'RestoreTask' || cmd.type === 'RemoveCheckpoint') {
    // The checkpoint outlives its container; a restore may make a new container.
    const cp = state.checkpoints[cmd.checkpointId];
    if (!cp || cp.ns !== cmd.ns) return refuse('NOT_FOUND', `checkpoint ${cmd.checkpointId} not found`, { checkpointId: cmd.checkpointId });
    if (cmd.type === 'RemoveCheckpoint') {
      return { ok: true, facts: [{ type: 'CheckpointRemoved', ns: cp.ns, id: cp.containerId, actor, data: { checkpointId: cp.checkpointId } }], ...(c ? { container: c } : {}) };
    }
    if (c?.task) return refuse('TASK_STATE', `container ${cmd.id} already has a ${c.task.status} task`, { id: cmd.id, status: c.task.status });
    return { ok: true, facts: [], ...(c ? { container: c } : {}) };
  }
  if (!c) return refuse('CONTAINER_NOT_FOUND', `container ${cmd.id} not found`, { id: cmd.id });
  const ok = (facts: Fact[] = []): Decision => ({ ok: true, facts, container: c });
  switch (cmd.type) {
    case 'UpdateContainer':
      return ok([{ type: 'ContainerUpdated', ns: cmd.ns, id: cmd.id, actor, data: { labels: cmd.labels } }]);
    case 'DeleteContainer':
      if (c.task) return refuse('TASK_STATE', `container ${cmd.id} still has a ${c.task.status} task: delete the task first`, { id: cmd.id, status: c.task.status });
      return ok([{ type: 'ContainerDeleted', ns: cmd.ns, id: cmd.id, actor, data: {} }]);
    case 'CreateTask':
      if (c.task) return refuse('TASK_STATE', `container ${cmd.id} already has a ${c.task.status} task`, { id: cmd.id, status: c.task.status });
      return ok();
    case 'StartTask':
      return needTask(c, ['created'], 'start') ?? ok();
    case 'PauseTask':
      return needTask(c, ['running'], 'pause') ?? ok();
    case 'ResumeTask':
      return needTask(c, ['paused'], 'resume') ?? ok();
    case 'KillTask': {
      const refused = needTask(c, ['created', 'running', 'paused'], 'kill');
      if (refused) return refused;
      if (cmd.execId) {
        const x = c.task?.execs[cmd.execId];
        if (!x) return refuse('NOT_FOUND', `exec ${cmd.execId} not found in ${cmd.id}`, { id: cmd.id, execId: cmd.execId });
        if (x.status !== 'running') return refuse('TASK_STATE', `exec ${cmd.execId} is ${x.status}`, { id: cmd.id, execId: cmd.execId });
      }
      return ok();
    }
    case 'DeleteTask':
      return needTask(c, cmd.force ? ['created', 'running', 'paused', 'exited'] : ['created', 'exited'], 'delete') ?? ok();
    case 'ExecProcess': {
      const refused = needTask(c, ['running'], 'exec in');
      if (refused) return refused;
      if (c.task?.execs[cmd.execId]) return refuse('ALREADY_EXISTS', `exec ${cmd.execId} already exists in ${cmd.id}`, { id: cmd.id, execId: cmd.execId });
      return ok();
    }
    case 'StartExec':
    case 'DeleteExec': {
      // containerd's two-step exec: Exec adds it, Start runs it; DeleteProcess drops an exited one.
      if (!c.task) return refuse('NOT_FOUND', `container ${c.id} has no task`, { id: c.id });
      const x = c.task.execs[cmd.execId];
      if (!x) return refuse('NOT_FOUND', `exec ${cmd.execId} not found in ${cmd.id}`, { id: cmd.id, execId: cmd.execId });
      const from = cmd.type === 'StartExec' ? 'added' : 'exited';
      if (x.status !== from && !(cmd.type === 'DeleteExec' && x.status === 'added')) {
        return refuse('TASK_STATE', `cannot ${cmd.type === 'StartExec' ? 'start' : 'delete'} exec ${cmd.execId} in ${cmd.id}: it is ${x.status}`, { id: cmd.id, execId: cmd.execId, status: x.status });
      }
      if (cmd.type === 'StartExec' && c.task.status !== 'running') return refuse('TASK_STATE', `cannot start exec ${cmd.execId}: task ${cmd.id} is ${c.task.status}`, { id: cmd.id, status: c.task.status });
      return cmd.type === 'DeleteExec' ? ok([{ type: 'ExecDeleted', ns: cmd.ns, id: cmd.id, actor, data: { execId: cmd.execId } }]) : ok();
    }
    case 'CheckpointTask': {
      if (c.runtime !== 'runc') {
        return refuse('FAILED_PRECONDITION', `cannot checkpoint ${cmd.id}: the ${c.runtime} runtime has no CRIU support; create the container with --runtime runc (and install CRIU 4 with scripts/install-criu.sh)`, { id: cmd.id, runtime: c.runtime });
      }
      const refused = needTask(c, ['running', 'paused'], 'checkpoint');
      if (refused) return refused;
      if (state.checkpoints[cmd.checkpointId]) return refuse('ALREADY_EXISTS', `checkpoint ${cmd.checkpointId} already exists`, { checkpointId: cmd.checkpointId });
      return ok();
    }
    default:
      return assertNever(cmd);
  }
}
