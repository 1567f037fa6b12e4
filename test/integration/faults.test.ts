// Crash points (DESIGN section 11): the daemon SIGKILLs itself exactly where it hurts; after
// a restart no acknowledged event is missing, the log agrees with what the shims report, the
// chain verifies, and nothing is orphaned once everything is deleted.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { CrashPoint } from '../../src/crash-points.js';
import { EventLog } from '../../src/events/event-log.js';
import { busyboxRootfs } from '../support/busybox-bundle.js';
import { call, readEvents, startDaemon, type EventMsg, type RunningDaemon, type TaskMsg } from '../support/daemon.js';
import { alive, waitFor } from '../support/shim-harness.js';

const started: RunningDaemon[] = [];
const dirs: string[] = [];
after(async () => {
  for (const d of started) await d.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});


/** Runs `steps` against a daemon that dies at `point` (steps = null: it dies on its own first write). */
async function crashAt(point: CrashPoint, steps: ((d: RunningDaemon) => Promise<void>) | null): Promise<{ dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'chr-f-'));
  dirs.push(dir);
  const d = await startDaemon({ dir, args: ['--shim-pool', '0'], env: { CHRONICLE_CRASH_AT: point }, waitReady: steps !== null });
  started.push(d);
  await steps?.(d).catch(() => undefined); // the call in flight dies with the daemon
  await waitFor(() => d.child.exitCode !== null || d.child.signalCode !== null, 30_000, `the daemon to crash at ${point}`);
  assert.equal(d.child.signalCode, 'SIGKILL', `crashed at ${point}`);
  return { dir };
}

async function restartAndCheck(dir: string, expect: (tasks: TaskMsg[]) => void, expectEvents?: (events: EventMsg[]) => void): Promise<void> {
  const d = await startDaemon({ dir, args: ['--shim-pool', '0'] });
  started.push(d);
  const T = d.client('Tasks');
  const C = d.client('Containers');
  const tasks = (await call<{ tasks: TaskMsg[] }>(T, 'List', {})).tasks;
  expect(tasks);
  // The projection agrees with what the shims report.
  for (const t of tasks.filter((x) => x.status !== 'exited')) assert.ok(alive(t.pid), `${t.id}'s process is alive as the log says`);
  // Clean up through the API: nothing may be left.
  const shims = tasks.map((t) => t.shimPid);
  for (const c of (await call<{ containers: { id: string; task?: unknown }[] }>(C, 'List', { labelFilters: [] })).containers) {
    if (c.task) await call(T, 'Delete', { id: c.id, force: true });
    await call(C, 'Delete', { id: c.id });
  }
  for (const p of shims) await waitFor(() => !alive(p), 20_000, 'shims to exit');
  const events = await readEvents(d);
  for (let i = 1; i < events.length; i++) assert.equal(events[i]!.seq, events[i - 1]!.seq + 1);
  expectEvents?.(events);
  await d.stop('SIGTERM');
  const log = await EventLog.open({ path: join(dir, 'root', 'log') });
  try {
    const v = await log.verify();
    assert.ok(v.ok, 'the chain verifies');
  } finally {
    await log.close();
  }
}

const container = async (d: RunningDaemon, id: string, runtime: 'runc' | 'process'): Promise<void> => {
  await call(
    d.client('Containers'),
    'Create',
    runtime === 'runc' ? { id, runtime, rootfs: busyboxRootfs(), args: ['/bin/sleep', '1000'] } : { id, runtime, args: ['/bin/sleep', '1000'] },
  );
};

test('crash after the shim spawned, before TaskCreated: the idle shim is retired', async () => {
  const { dir } = await crashAt('shim.after-spawn', async (d) => {
    await container(d, 'a', 'runc');
    await call(d.client('Tasks'), 'Create', { id: 'a' });
  });
  await restartAndCheck(dir, (tasks) => assert.deepEqual(tasks, []));
});

test('crash after the shim started the task, before TaskStarted: recovery appends it', async () => {
  const { dir } = await crashAt('task.after-start', async (d) => {
    await container(d, 'b', 'runc');
    await call(d.client('Tasks'), 'Create', { id: 'b' });
    await call(d.client('Tasks'), 'Start', { id: 'b' });
  });
  await restartAndCheck(dir, (tasks) => assert.equal(tasks.find((t) => t.id === 'b')?.status, 'running'));
});

test('crash after Kill, before TaskExited: the exit comes from the shim after the restart', async () => {
  const { dir } = await crashAt('task.after-kill', async (d) => {
    await container(d, 'c', 'process');
    await call(d.client('Tasks'), 'Create', { id: 'c' });
    await call(d.client('Tasks'), 'Start', { id: 'c' });
    await call(d.client('Tasks'), 'Kill', { id: 'c', signal: 'KILL' });
  });
  await restartAndCheck(dir, (tasks) => assert.equal(tasks.find((t) => t.id === 'c')?.status, 'exited'));
});

test('crash after the shim deleted the task, before TaskDeleted: the task ends as shim-lost and can be deleted', async () => {
  const { dir } = await crashAt('task.after-delete', async (d) => {
    await container(d, 'e', 'process');
    await call(d.client('Tasks'), 'Create', { id: 'e' });
    await call(d.client('Tasks'), 'Start', { id: 'e' });
    await call(d.client('Tasks'), 'Kill', { id: 'e', signal: 'KILL' });
    await call(d.client('Tasks'), 'Wait', { id: 'e' });
    await call(d.client('Tasks'), 'Delete', { id: 'e' });
  });
  await restartAndCheck(dir, (tasks) => assert.equal(tasks.find((t) => t.id === 'e')?.status, 'exited'));
});

for (const point of ['log.before-write', 'log.after-write'] as const) {
  test(`crash inside a group commit (${point}): the log reopens, verifies and goes on`, async () => {
    // The first write is the daemon's own DaemonStarted.
    const { dir } = await crashAt(point, null);
    await restartAndCheck(dir, (tasks) => assert.deepEqual(tasks, []));
  });
}

test('crash in the middle of recovery: the next start finishes it, and records nothing twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chr-f-'));
  dirs.push(dir);
  const first = await startDaemon({ dir, args: ['--shim-pool', '0'] });
  started.push(first);
  for (const id of ['m1', 'm2', 'm3']) {
    await container(first, id, 'process');
    await call(first.client('Tasks'), 'Create', { id });
    await call(first.client('Tasks'), 'Start', { id });
  }
  const before = (await call<{ tasks: TaskMsg[] }>(first.client('Tasks'), 'List', {})).tasks;
  await first.stop('SIGKILL');
  // m3's shim dies during the downtime, so that recovery has a loss to record as well.
  const m3 = before.find((t) => t.id === 'm3')!;
  process.kill(m3.shimPid, 'SIGKILL');
  await waitFor(() => !alive(m3.shimPid), 20_000, "m3's shim to die");

  const mid = await startDaemon({ dir, args: ['--shim-pool', '0'], env: { CHRONICLE_CRASH_AT: 'recovery.middle' }, waitReady: false });
  started.push(mid);
  await waitFor(() => mid.child.exitCode !== null || mid.child.signalCode !== null, 30_000, 'the daemon to crash during recovery');
  assert.equal(mid.child.signalCode, 'SIGKILL');

  await restartAndCheck(
    dir,
    (tasks) => {
      for (const id of ['m1', 'm2']) {
        const t = tasks.find((x) => x.id === id);
        assert.equal(t?.status, 'running', `${id} is running`);
        assert.equal(t?.pid, before.find((x) => x.id === id)!.pid, `${id} keeps its pid`);
      }
      assert.equal(tasks.find((x) => x.id === 'm3')?.status, 'exited');
    },
    (events) => {
      const m3Events = events.filter((e) => e.id === 'm3');
      assert.equal(m3Events.filter((e) => e.type === 'ShimLost').length, 1, 'the loss is recorded once');
      assert.equal(m3Events.filter((e) => e.type === 'TaskExited').length, 1, 'the exit is recorded once');
      assert.equal(events.filter((e) => e.type === 'TaskStarted').length, 3, 'no start is recorded twice');
    },
  );
});
