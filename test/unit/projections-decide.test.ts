import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ContainerCreated } from '../../src/events/schemas.js';
import * as f from '../support/facts.js';
import { given } from '../support/given.js';

const spec: ContainerCreated = { runtime: 'runc', bundle: '/b', args: ['/bin/true'], env: [], cwd: '/', labels: {} };
const t = { ns: 'default', id: 'c1' } as const;
const running = [f.containerCreated('c1'), f.taskCreated('c1'), f.taskStarted('c1')];

describe('decide: refusals before any side effect', () => {
  test('create of an existing container', () => given(f.containerCreated('c1')).when({ type: 'CreateContainer', ...t, spec }).thenFails('CONTAINER_EXISTS'));
  test('create of a new container yields ContainerCreated', () => given().when({ type: 'CreateContainer', ...t, spec }).thenFacts('ContainerCreated'));
  test('anything on a missing container', () => {
    for (const type of ['StartTask', 'KillTask', 'DeleteContainer', 'CreateTask', 'PauseTask'] as const) given().when({ type, ...t }).thenFails('CONTAINER_NOT_FOUND');
  });
  test('kill of a deleted task', () => given(...running, f.taskExited('c1'), f.taskDeleted('c1')).when({ type: 'KillTask', ...t }).thenFails('NOT_FOUND'));
  test('kill of an exited task', () => given(...running, f.taskExited('c1')).when({ type: 'KillTask', ...t }).thenFails('TASK_STATE'));
  test('start of a running task', () => given(...running).when({ type: 'StartTask', ...t }).thenFails('TASK_STATE'));
  test('pause of an exited task, resume of a running one', () => {
    given(...running, f.taskExited('c1')).when({ type: 'PauseTask', ...t }).thenFails('TASK_STATE');
    given(...running).when({ type: 'ResumeTask', ...t }).thenFails('TASK_STATE');
  });
  test('delete of a container with a running task', () => given(...running).when({ type: 'DeleteContainer', ...t }).thenFails('TASK_STATE'));
  test('delete of a running task without force', () => {
    given(...running).when({ type: 'DeleteTask', ...t }).thenFails('TASK_STATE');
    given(...running).when({ type: 'DeleteTask', ...t, force: true }).thenFacts();
  });
  test('exec in a paused task, and a duplicate exec id', () => {
    given(...running, f.taskPaused('c1')).when({ type: 'ExecProcess', ...t, execId: 'x' }).thenFails('TASK_STATE');
    given(...running, f.execAdded('c1', 'x')).when({ type: 'ExecProcess', ...t, execId: 'x' }).thenFails('ALREADY_EXISTS');
  });
  test('a second task on one container', () => given(...running).when({ type: 'CreateTask', ...t }).thenFails('TASK_STATE'));
  test('checkpoint of a created task', () => given(f.containerCreated('c1'), f.taskCreated('c1')).when({ type: 'CheckpointTask', ...t, checkpointId: 'cp1' }).thenFails('TASK_STATE'));
  test('checkpoint: the process runtime is refused with its reason, a taken id too', () => {
    given(f.containerCreated('c1', { runtime: 'process' }), f.taskCreated('c1'), f.taskStarted('c1')).when({ type: 'CheckpointTask', ...t, checkpointId: 'cp1' }).thenFails('FAILED_PRECONDITION');
    given(...running, f.taskCheckpointed('c1', 'cp1')).when({ type: 'CheckpointTask', ...t, checkpointId: 'cp1' }).thenFails('ALREADY_EXISTS');
    given(...running, f.taskPaused('c1')).when({ type: 'CheckpointTask', ...t, checkpointId: 'cp2' }).thenFacts();
  });
  test('restore: into a new container, not over a live task, only a known checkpoint', () => {
    given(...running, f.taskCheckpointed('c1', 'cp1')).when({ type: 'RestoreTask', ns: t.ns, id: 'c2', checkpointId: 'cp1' }).thenFacts();
    given(...running, f.taskCheckpointed('c1', 'cp1')).when({ type: 'RestoreTask', ...t, checkpointId: 'cp1' }).thenFails('TASK_STATE');
    given(...running).when({ type: 'RestoreTask', ns: t.ns, id: 'c2', checkpointId: 'nope' }).thenFails('NOT_FOUND');
  });
  test('checkpoint rm names the checkpoint, even after its container is gone', () => {
    given(f.containerCreated('c1'), f.taskCreated('c1'), f.taskStarted('c1'), f.taskCheckpointed('c1', 'cp1'), f.taskExited('c1'), f.taskDeleted('c1'), f.containerDeleted('c1'))
      .when({ type: 'RemoveCheckpoint', ns: t.ns, id: 'c1', checkpointId: 'cp1' })
      .thenFacts('CheckpointRemoved');
  });
  test('allowed commands pass with the facts decide can know', () => {
    given(...running).when({ type: 'PauseTask', ...t }).thenFacts();
    given(f.containerCreated('c1')).when({ type: 'UpdateContainer', ...t, labels: { a: 'b' } }).thenFacts('ContainerUpdated');
    given(f.containerCreated('c1')).when({ type: 'DeleteContainer', ...t }).thenFacts('ContainerDeleted');
    assert.ok(true);
  });
});
