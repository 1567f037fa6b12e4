// Tasks through a real chronicled, real shims and real runc: the lifecycle in the log,
// refusals before any shim call, and control regained after kill -9 of the daemon.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { busyboxRootfs } from '../support/busybox-bundle.js';
import { call, readEvents, startDaemon, type CallError, type EventMsg, type RunningDaemon, type TaskMsg } from '../support/daemon.js';
import { alive, childrenOf, waitFor, workingChildrenOf } from '../support/shim-harness.js';

const started: RunningDaemon[] = [];
const pids: number[] = [];
after(async () => {
  for (const d of started) await d.cleanup();
  for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
});

async function daemon(dir?: string): Promise<RunningDaemon> {
  const d = await startDaemon(dir ? { dir } : {});
  started.push(d);
  return d;
}


const facts = (events: EventMsg[], id: string): string[] => events.filter((e) => e.id === id && !e.type.startsWith('Request')).map((e) => e.type);

test('a runc lifecycle through gRPC lands in the log in order', async () => {
  const d = await daemon();
  const C = d.client('Containers');
  const T = d.client('Tasks');
  await call(C, 'Create', { id: 'life', runtime: 'runc', rootfs: busyboxRootfs(), args: ['/bin/sh', '-c', 'sleep 0.2; exit 3'] });
  await call(T, 'Create', { id: 'life' });
  await call(T, 'Start', { id: 'life' });
  const w = await call<{ exitCode: number }>(T, 'Wait', { id: 'life' });
  assert.equal(w.exitCode, 3);
  await call(T, 'Delete', { id: 'life' });
  await call(C, 'Delete', { id: 'life' });
  const events = await readEvents(d);
  assert.deepEqual(facts(events, 'life'), ['ContainerCreated', 'ShimSpawning', 'ShimReady', 'TaskCreated', 'TaskStarted', 'TaskExited', 'TaskDeleted', 'ContainerDeleted']);
  const exited = events.find((e) => e.type === 'TaskExited')!;
  assert.equal((JSON.parse(exited.dataJson) as { exitCode: number }).exitCode, 3);
  for (let i = 1; i < events.length; i++) assert.ok(events[i]!.seq > events[i - 1]!.seq);
});

test('shims given back after a parallel burst serve the next burst: no shim is spawned twice over', async () => {
  const d = await daemon();
  const C = d.client('Containers');
  const T = d.client('Tasks');
  const rootfs = busyboxRootfs();
  const round = async (r: number): Promise<number[]> =>
    Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const id = `burst-${r}-${i}`;
        await call(C, 'Create', { id, runtime: 'runc', rootfs, args: ['/bin/true'] });
        const t = await call<{ task: TaskMsg }>(T, 'Create', { id });
        await call(T, 'Start', { id });
        await call(T, 'Wait', { id });
        await call(T, 'Delete', { id });
        await call(C, 'Delete', { id });
        return t.task.shimPid;
      }),
    );
  const first = new Set(await round(1));
  assert.equal(first.size, 5, 'five tasks at once run in five shims');
  const second = await round(2);
  assert.equal(new Set(second).size, 5);
  // More than the 2 pre-spawned shims were needed; all 5 went back to the pool (max 8).
  for (const pid of second) assert.ok(first.has(pid), `shim ${pid} of the second burst is one of the first's (${[...first].join(', ')})`);
});

test('invalid transitions are refused before any shim call, with an audit record', async () => {
  const d = await daemon();
  const C = d.client('Containers');
  const T = d.client('Tasks');
  await call(C, 'Create', { id: 'r', runtime: 'process', args: ['/bin/sleep', '30'] });
  await call(T, 'Create', { id: 'r' });
  await call(T, 'Start', { id: 'r' });
  const head = (await call<{ seq: number }>(d.client('Events'), 'Head', {})).seq;
  const refused = async (method: string, req: object, code: string): Promise<void> =>
    assert.rejects(call(T, method, req), (e: CallError) => e.code === code && e.grpcCode === 9);
  await refused('Start', { id: 'r' }, 'TASK_STATE');
  await refused('Resume', { id: 'r' }, 'TASK_STATE');
  await refused('Delete', { id: 'r' }, 'TASK_STATE');
  await assert.rejects(call(C, 'Delete', { id: 'r' }), (e: CallError) => e.code === 'TASK_STATE');
  const events = await readEvents(d, head + 1);
  assert.deepEqual(events.map((e) => e.type), ['RequestDenied', 'RequestDenied', 'RequestDenied', 'RequestDenied']);
  await call(T, 'Delete', { id: 'r', force: true });
  await assert.rejects(call(T, 'Kill', { id: 'r' }), (e: CallError) => e.code === 'NOT_FOUND');
  await call(C, 'Delete', { id: 'r' });
});

test('kill -9 of the daemon: tasks come back with their pids; an exit during the downtime keeps its time and code', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chr-r-'));
  let d = await daemon(dir);
  const C = d.client('Containers');
  const T = d.client('Tasks');
  const ids = ['k1', 'k2', 'k3', 'k4'];
  for (const id of ids) {
    const runc = id === 'k1';
    await call(C, 'Create', runc ? { id, runtime: 'runc', rootfs: busyboxRootfs(), args: ['/bin/sleep', '1000'] } : { id, runtime: 'process', args: ['/bin/sleep', '1000'] });
    await call(T, 'Create', { id });
    await call(T, 'Start', { id });
  }
  const before = (await call<{ tasks: TaskMsg[] }>(T, 'List', {})).tasks;
  for (const t of before) pids.push(t.pid, t.shimPid);
  const lastSeq = (await call<{ seq: number }>(d.client('Events'), 'Head', {})).seq;

  // The pool refills a moment after each take (250 ms, then a shim's start-up): wait for it.
  const warmShims = (): number[] => {
    const working = new Set(workingChildrenOf(d.child.pid!));
    return childrenOf(d.child.pid!).filter((p) => !working.has(p) && !before.some((t) => t.shimPid === p));
  };
  await waitFor(() => warmShims().length > 0, 20_000, 'the daemon to keep warm shims');
  const warm = warmShims();
  await d.stop('SIGKILL');
  const downAt = Date.now();
  const victim = before.find((t) => t.id === 'k4')!;
  process.kill(victim.pid, 'SIGKILL'); // exits while nobody listens
  await waitFor(() => !alive(victim.pid), 20_000, 'the victim to die');
  await new Promise((r) => setTimeout(r, 200));
  // Warm shims that were never given work leave once their daemon is gone.
  await waitFor(() => warm.every((p) => !alive(p)), 20_000, 'orphaned warm shims to exit');
  const upAt = Date.now();

  d = await daemon(dir);
  const T2 = d.client('Tasks');
  await waitFor(async () => (await call<{ tasks: TaskMsg[] }>(T2, 'List', {})).tasks.find((t) => t.id === 'k4')?.status === 'exited', 30_000, 'the downtime exit');
  const afterList = (await call<{ tasks: TaskMsg[] }>(T2, 'List', {})).tasks;
  for (const t of before.filter((x) => x.id !== 'k4')) {
    const now = afterList.find((x) => x.id === t.id)!;
    assert.equal(now.status, 'running');
    assert.equal(now.pid, t.pid, `${t.id} keeps its pid`);
  }
  const events = await readEvents(d, lastSeq + 1);
  const exits = events.filter((e) => e.type === 'TaskExited');
  assert.equal(exits.length, 1, 'the downtime exit, once');
  const exit = JSON.parse(exits[0]!.dataJson) as { exitCode: number; exitedAt: number; reason: string };
  assert.equal(exit.exitCode, 137);
  assert.ok(exit.exitedAt >= downAt - 5 && exit.exitedAt <= upAt, 'exitedAt inside the downtime');
  const recovered = events.find((e) => e.type === 'DaemonRecovered')!;
  assert.equal((JSON.parse(recovered.dataJson) as { alive: number }).alive, 4);

  // Control is back: pause, resume, exec and kill work on the recovered tasks.
  await call(T2, 'Pause', { id: 'k1' });
  await call(T2, 'Resume', { id: 'k1' });
  await call(T2, 'Exec', { id: 'k1', execId: 'x', args: ['/bin/true'] });
  assert.equal((await call<{ exitCode: number }>(T2, 'Wait', { id: 'k1', execId: 'x' })).exitCode, 0);
  for (const id of ids) {
    await call(T2, 'Delete', { id, force: true });
    await call(d.client('Containers'), 'Delete', { id });
  }
  for (const t of before) await waitFor(() => !alive(t.shimPid) && !alive(t.pid), 20_000, `${t.id}'s shim and process to be gone`);
  assert.deepEqual(workingChildrenOf(d.child.pid!), []);
  rmSync(dir, { recursive: true, force: true });
});
