import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Fact } from '../../src/events/schemas.js';
import { checkTransition, evolve, fold, initialState, type State } from '../../src/projections/index.js';
import * as f from '../support/facts.js';
import { given } from '../support/given.js';

const task = (s: State, id: string) => s.containers[`default/${id}`]?.task;

describe('evolve: every transition', () => {
  test('ContainerCreated adds the container with its spec', () =>
    given(f.containerCreated('c1', { labels: { a: 'b' } })).then((s) => {
      const c = s.containers['default/c1'];
      assert.equal(c?.runtime, 'runc');
      assert.deepEqual(c?.labels, { a: 'b' });
      assert.equal(c?.task, null);
      assert.equal(s.seq, 1);
    }));
  test('ContainerUpdated replaces labels', () =>
    given(f.containerCreated('c1'), f.containerUpdated('c1', { x: 'y' })).then((s) => assert.deepEqual(s.containers['default/c1']?.labels, { x: 'y' })));
  test('ContainerDeleted removes it and counts it', () =>
    given(f.containerCreated('c1'), f.containerDeleted('c1')).then((s) => {
      assert.equal(s.containers['default/c1'], undefined);
      assert.equal(s.deletedContainers, 1);
    }));
  test('TaskCreated -> created, with pid and shim', () =>
    given(f.containerCreated('c1'), f.shimSpawning('c1'), f.shimReady('c1'), f.taskCreated('c1', 77)).then((s) => {
      assert.equal(task(s, 'c1')?.status, 'created');
      assert.equal(task(s, 'c1')?.pid, 77);
      const shim = Object.values(s.shims)[0];
      assert.equal(shim?.status, 'ready');
      assert.deepEqual(shim?.containers, ['default/c1']);
    }));
  test('TaskStarted -> running', () => given(f.containerCreated('c1'), f.taskCreated('c1'), f.taskStarted('c1')).then((s) => assert.equal(task(s, 'c1')?.status, 'running')));
  test('TaskPaused -> paused, TaskResumed -> running', () => {
    given(f.containerCreated('c1'), f.taskCreated('c1'), f.taskStarted('c1'), f.taskPaused('c1')).then((s) => assert.equal(task(s, 'c1')?.status, 'paused'));
    given(f.containerCreated('c1'), f.taskCreated('c1'), f.taskStarted('c1'), f.taskPaused('c1'), f.taskResumed('c1')).then((s) =>
      assert.equal(task(s, 'c1')?.status, 'running'),
    );
  });
  test('TaskExited from running and from paused records code and reason', () => {
    given(f.containerCreated('c1'), f.taskCreated('c1'), f.taskStarted('c1'), f.taskExited('c1', 3)).then((s) => {
      assert.equal(task(s, 'c1')?.status, 'exited');
      assert.equal(task(s, 'c1')?.exitCode, 3);
      assert.equal(task(s, 'c1')?.exitReason, 'exited');
    });
    given(f.containerCreated('c1'), f.taskCreated('c1'), f.taskStarted('c1'), f.taskPaused('c1'), f.taskExited('c1', 137)).then((s) =>
      assert.equal(task(s, 'c1')?.exitReason, 'killed'),
    );
  });
  test('TaskOOM then a kill is reported as oom', () =>
    given(f.containerCreated('c1'), f.taskCreated('c1'), f.taskStarted('c1'), f.taskOOM('c1'), f.taskExited('c1', 137)).then((s) => assert.equal(task(s, 'c1')?.exitReason, 'oom')));
  test('TaskDeleted removes the task; the shim of its last task leaves the state (it exits after its last Delete)', () =>
    given(f.containerCreated('c1'), f.shimSpawning('c1'), f.shimReady('c1'), f.taskCreated('c1'), f.taskExited('c1'), f.taskDeleted('c1')).then((s) => {
      assert.equal(task(s, 'c1'), null);
      assert.deepEqual(s.shims, {});
    }));
  test('a group shim keeps its other containers after one TaskDeleted', () =>
    given(
      f.containerCreated('c1'),
      f.containerCreated('c2'),
      f.shimSpawning('c1'),
      f.shimReady('c1'),
      f.taskCreated('c1'),
      f.taskCreated('c2', 1001, 'c1'),
      f.taskDeleted('c1'),
    ).then((s) => {
      assert.deepEqual(Object.values(s.shims).map((x) => x.containers), [['default/c2']]);
    }));
  test('a shim lost with no task is forgotten; one lost with tasks stays until they are deleted', () =>
    given(f.containerCreated('c1'), f.shimSpawning('c1'), f.shimReady('c1'), f.taskCreated('c1'), f.shimLost('c1'), f.taskExited('c1')).then((s) => {
      assert.equal(Object.values(s.shims)[0]?.status, 'lost');
      return given(f.shimSpawning('w1'), f.shimReady('w1'), f.shimLost('w1')).then((w) => assert.deepEqual(w.shims, {}));
    }));
  test('exec added, started, exited', () =>
    given(f.containerCreated('c1'), f.taskCreated('c1'), f.taskStarted('c1'), f.execAdded('c1', 'x'), f.execStarted('c1', 'x', 55), f.execExited('c1', 'x', 4)).then((s) => {
      const x = task(s, 'c1')?.execs['x'];
      assert.equal(x?.status, 'exited');
      assert.equal(x?.pid, 55);
      assert.equal(x?.exitCode, 4);
    }));
  test('checkpoints and restores', () =>
    given(f.containerCreated('c1'), f.taskCheckpointed('c1', 'cp9'), f.taskCreated('c1'), f.taskRestored('c1', 'cp9', 99)).then((s) => {
      assert.equal(s.containers['default/c1']?.checkpoints[0]?.checkpointId, 'cp9');
      assert.equal(task(s, 'c1')?.status, 'running');
      assert.equal(task(s, 'c1')?.restoredFrom, 'cp9');
      assert.equal(task(s, 'c1')?.pid, 99);
    }));
  test('a checkpoint outlives its container until it is removed', () =>
    given(f.containerCreated('c1'), f.taskCheckpointed('c1', 'cp9'), f.containerDeleted('c1')).then((s) => {
      assert.deepEqual([s.checkpoints['cp9']?.ns, s.checkpoints['cp9']?.containerId, s.checkpoints['cp9']?.bytes], ['default', 'c1', 1024]);
      const removed = given(f.containerCreated('c1'), f.taskCheckpointed('c1', 'cp9'), { type: 'CheckpointRemoved', ns: 'default', id: 'c1', actor: 'test', data: { checkpointId: 'cp9' } });
      removed.then((r) => {
        assert.equal(r.checkpoints['cp9'], undefined);
        assert.deepEqual(r.containers['default/c1']?.checkpoints, []);
      });
    }));
  test('shim facts advance the shim\'s lastShimSeq; ShimLost marks it lost', () =>
    given(f.containerCreated('c1'), f.shimSpawning('c1'), f.shimReady('c1'), f.taskCreated('c1'), f.taskStarted('c1'), f.taskExited('c1', 0, 7), f.shimLost('c1')).then((s) => {
      const shim = Object.values(s.shims)[0];
      assert.equal(shim?.lastShimSeq, 7);
      assert.equal(shim?.status, 'lost');
    }));
  test('daemon lifecycle events are kept', () => {
    const facts: Fact[] = [
      { type: 'DaemonStarted', ns: '', id: '', actor: 'daemon', data: { version: '1', pid: 1, root: '/r', state: '/s' } },
      { type: 'DaemonRecovered', ns: '', id: '', actor: 'recovery', data: { replayed: 1, snapshotSeq: 0, alive: 0, lost: 0, reconciled: 0, durations: { total: 1 } } },
      { type: 'DaemonStopped', ns: '', id: '', actor: 'daemon', data: { reason: 'test' } },
    ];
    given(...facts).then((s) => {
      assert.equal(s.daemon.started?.seq, 1);
      assert.equal(s.daemon.recovered?.seq, 2);
      assert.equal(s.daemon.stopped?.reason, 'test');
    });
  });
});

describe('evolve: facts are never refused', () => {
  test('task events for unknown containers change nothing but seq', () =>
    given(f.taskStarted('ghost'), f.taskExited('ghost'), f.taskDeleted('ghost')).then((s) => {
      assert.deepEqual(s.containers, {});
      assert.equal(s.seq, 3);
    }));
  test('checkTransition reports what evolve applied leniently', () => {
    const s = fold(initialState(), f.commit([f.containerCreated('c1'), f.taskCreated('c1')]));
    const [bad] = f.commit([f.taskResumed('c1')], 3);
    assert.equal(checkTransition(s, bad!)?.seq, 3);
    const [good] = f.commit([f.taskStarted('c1')], 3);
    assert.equal(checkTransition(s, good!), undefined);
  });

  const anyFact = fc.oneof(
    ...['c1', 'c2', 'c3'].flatMap((id) => [
      fc.constant(f.containerCreated(id)),
      fc.constant(f.containerDeleted(id)),
      fc.constant(f.taskCreated(id)),
      fc.constant(f.taskStarted(id)),
      fc.constant(f.taskPaused(id)),
      fc.constant(f.taskResumed(id)),
      fc.constant(f.taskExited(id, 1, 3)),
      fc.constant(f.taskDeleted(id)),
      fc.constant(f.execAdded(id, 'x')),
      fc.constant(f.execExited(id, 'x')),
      fc.constant(f.shimSpawning(id)),
      fc.constant(f.shimLost(id)),
      fc.constant(f.taskCheckpointed(id)),
      fc.constant(f.taskRestored(id)),
    ]),
  );

  test('any sequence of valid events folds without throwing, and fold splits anywhere', () =>
    fc.assert(
      fc.property(fc.array(anyFact, { maxLength: 60 }), fc.nat(), (facts, cut) => {
        const events = f.commit(facts);
        const k = events.length === 0 ? 0 : cut % (events.length + 1);
        const whole = fold(initialState(), events);
        const split = fold(fold(initialState(), events.slice(0, k)), events.slice(k));
        const oneByOne = events.reduce(evolve, initialState());
        assert.deepEqual(split, whole);
        assert.deepEqual(oneByOne, whole);
      }),
      { numRuns: 200 },
    ));

  test('evolve never mutates its input state', () => {
    const deepFreeze = <T>(o: T): T => {
      if (o && typeof o === 'object') {
        Object.values(o).forEach(deepFreeze);
        Object.freeze(o);
      }
      return o;
    };
    fc.assert(
      fc.property(fc.array(anyFact, { maxLength: 40 }), (facts) => {
        const events = f.commit(facts);
        let s = deepFreeze(initialState());
        for (const e of events) s = deepFreeze(evolve(s, e)); // throws in strict mode if anything mutates
      }),
      { numRuns: 100 },
    );
  });
});
