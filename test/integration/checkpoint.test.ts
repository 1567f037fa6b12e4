// Checkpoint and restore with real CRIU (scripts/install-criu.sh) and real runc, through a
// real chronicled: a counter that carries on from its saved memory, --leave-running, a
// paused task, a restore after a daemon restart found through the log, a failed dump that
// leaves the task running, and corrupted or unrestorable images that leave nothing behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Checkpoint, Task } from '../../src/cli/messages.js';
import { entryPoint } from '../../src/entry-points.js';
import { busyboxRootfs } from '../support/busybox-bundle.js';
import { call, readEvents, startDaemon, type CallError, type EventMsg, type RunningDaemon } from '../support/daemon.js';
import { alive, waitFor } from '../support/shim-harness.js';

const CRIU = process.env['CHRONICLE_CRIU'] ?? '/opt/chronicle/criu/bin/criu';

const started: RunningDaemon[] = [];
const dirs: string[] = [];
after(async () => {
  for (const d of started) await d.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('CRIU 4 is installed (scripts/install-criu.sh): nothing here is skipped', () => {
  const r = spawnSync(CRIU, ['check'], { encoding: 'utf8' });
  assert.match(`${r.stdout}${r.stderr}`, /Looks good\./, `${CRIU} check failed: run scripts/install-criu.sh`);
});

async function daemon(dir?: string, args: string[] = []): Promise<RunningDaemon> {
  const d = await startDaemon({ ...(dir ? { dir } : {}), args: ['--shim-pool', '0', ...args] });
  started.push(d);
  return d;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chr-cp-'));
  dirs.push(dir);
  return dir;
}


// The counter lives in a tmpfs file (dumped and restored by CRIU) and in the shell's memory;
// each value is printed, so the task's stdout file is its history.
const COUNTER = ['/bin/sh', '-c', 'while :; do i=$(cat /dev/shm/n 2>/dev/null || echo 0); i=$((i+1)); echo $i > /dev/shm/n; echo $i; sleep 0.05; done'];

async function startCounter(d: RunningDaemon, id: string): Promise<Task> {
  await call(d.client('Containers'), 'Create', { id, runtime: 'runc', rootfs: busyboxRootfs(), args: COUNTER });
  await call(d.client('Tasks'), 'Create', { id });
  const { task } = await call<{ task: Task }>(d.client('Tasks'), 'Start', { id });
  return task;
}

function numbers(path: string): number[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

const task = async (d: RunningDaemon, id: string): Promise<Task> => (await call<{ task: Task }>(d.client('Tasks'), 'Get', { id })).task;
const facts = (events: EventMsg[], id: string): string[] => events.filter((e) => e.id === id && !e.type.startsWith('Request')).map((e) => e.type);
const dataOf = <T>(events: EventMsg[], type: string, id: string): T => JSON.parse(events.find((e) => e.type === type && e.id === id)!.dataJson) as T;

async function remove(d: RunningDaemon, ...ids: string[]): Promise<void> {
  for (const id of ids) {
    await call(d.client('Tasks'), 'Delete', { id, force: true }).catch(() => undefined);
    await call(d.client('Containers'), 'Delete', { id });
  }
}

/** Shim processes serving this state dir for container `id` (none may be left). */
function shimsFor(d: RunningDaemon, id: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmd: string[];
    try {
      cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const s = cmd.indexOf('--state-dir');
    const i = cmd.indexOf('--id');
    if (s >= 0 && cmd[s + 1] === d.state && i >= 0 && cmd[i + 1] === id) out.push(Number(name));
  }
  return out;
}

function runcIds(d: RunningDaemon, ns = 'default'): string[] {
  const r = spawnSync('runc', ['--root', join(d.state, 'runc', ns), 'list', '-q'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

test('a checkpoint stops the task; restored under a new id the counter carries on from where it stopped', async () => {
  const d = await daemon();
  const K = d.client('Checkpoints');
  const t = await startCounter(d, 'count');
  await waitFor(() => numbers(t.stdout).length >= 5, 30_000, 'the counter to count');

  const cp = await call<Checkpoint>(K, 'Create', { id: 'count', leaveRunning: false, name: 'count-1' });
  assert.equal(cp.checkpointId, 'count-1');
  assert.ok(cp.bytes > 0);
  assert.match(cp.digest, /^[0-9a-f]{64}$/);
  assert.equal(cp.leftRunning, false);
  const stopped = await task(d, 'count');
  assert.deepEqual([stopped.status, stopped.exitReason], ['exited', 'checkpointed']);
  await waitFor(() => !alive(t.pid), 10_000, 'the checkpointed init to be gone');
  const last = Math.max(...numbers(t.stdout));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(Math.max(...numbers(t.stdout)), last, 'nothing counts after the dump');

  // The manifest travels with the image.
  const manifest = JSON.parse(readFileSync(join(cp.imagePath, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual([manifest['checkpointId'], manifest['containerId'], manifest['runtime'], manifest['digest'], manifest['bytes'], manifest['parent']], ['count-1', 'count', 'runc', cp.digest, cp.bytes, null]);
  assert.ok(cp.imagePath.startsWith(join(d.root, 'checkpoints') + '/'));

  const { task: r } = await call<{ task: Task }>(K, 'Restore', { checkpointId: 'count-1', id: 'count2' });
  assert.deepEqual([r.id, r.status, r.restoredFrom], ['count2', 'running', 'count-1']);
  await waitFor(() => numbers(r.stdout).length >= 3, 30_000, 'the restored counter to count');
  const resumed = numbers(r.stdout);
  assert.equal(resumed[0], last + 1, `the restored counter goes on from ${last}, not from 0 (it printed ${resumed.slice(0, 5).join(',')})`);

  // A checkpoint of the restored task names its parent.
  const cp2 = await call<Checkpoint>(K, 'Create', { id: 'count2', leaveRunning: true, name: 'count-2' });
  assert.equal(cp2.parent, 'count-1');

  const events = await readEvents(d);
  assert.deepEqual(facts(events, 'count').slice(-2), ['TaskCheckpointed', 'TaskExited']);
  // ShimSpawning is durable before the spawn, so it comes first; the rest is one batch.
  assert.deepEqual(facts(events, 'count2').slice(0, 5), ['ShimSpawning', 'ContainerCreated', 'ShimReady', 'TaskCreated', 'TaskRestored']);
  const checkpointed = dataOf<{ checkpointId: string; bytes: number; digest: string; leftRunning: boolean; durationMs: number }>(events, 'TaskCheckpointed', 'count');
  assert.deepEqual([checkpointed.checkpointId, checkpointed.bytes, checkpointed.digest, checkpointed.leftRunning], ['count-1', cp.bytes, cp.digest, false]);
  assert.ok(checkpointed.durationMs > 0);
  assert.equal(dataOf<{ reason: string }>(events, 'TaskExited', 'count').reason, 'checkpointed');
  assert.deepEqual(dataOf<{ checkpointId: string; pid: number }>(events, 'TaskRestored', 'count2'), { checkpointId: 'count-1', pid: r.pid });

  // Listing, then removal: the image goes and the log says so.
  const list = await call<{ checkpoints: Checkpoint[] }>(K, 'List', { id: '' });
  assert.deepEqual(list.checkpoints.map((c) => c.checkpointId), ['count-1', 'count-2']);
  await call(K, 'Delete', { checkpointId: 'count-2' });
  assert.ok(!existsSync(cp2.imagePath));
  assert.deepEqual((await call<{ checkpoints: Checkpoint[] }>(K, 'List', { id: 'count2' })).checkpoints, []);
  await assert.rejects(call(K, 'Restore', { checkpointId: 'count-2', id: 'x' }), (e: CallError) => e.code === 'NOT_FOUND');
  // Without --id: back into the container it was taken of, once its exited task is deleted.
  await assert.rejects(call(K, 'Restore', { checkpointId: 'count-1', id: '' }), (e: CallError) => e.code === 'TASK_STATE');
  await call(d.client('Tasks'), 'Delete', { id: 'count' });
  const { task: back } = await call<{ task: Task }>(K, 'Restore', { checkpointId: 'count-1', id: '' });
  assert.equal(back.id, 'count');
  await waitFor(() => numbers(back.stdout).length > numbers(t.stdout).indexOf(last) + 3, 30_000, 'the counter to count again');
  const again = numbers(back.stdout);
  assert.equal(again[again.indexOf(last) + 1], last + 1, 'it carries on in its own output file');
  await remove(d, 'count', 'count2');
  await waitFor(() => !alive(r.pid) && !alive(r.shimPid) && !alive(back.pid), 20_000, 'the restored tasks and their shims to be gone');
});

test('--leave-running: the original keeps counting, and so does its restored copy', async () => {
  const d = await daemon();
  const K = d.client('Checkpoints');
  const t = await startCounter(d, 'lr');
  await waitFor(() => numbers(t.stdout).length >= 5, 30_000, 'the counter to count');
  const cp = await call<Checkpoint>(K, 'Create', { id: 'lr', leaveRunning: true, name: 'lr-1' });
  assert.equal(cp.leftRunning, true);
  const at = Math.max(...numbers(t.stdout));
  assert.equal((await task(d, 'lr')).status, 'running');
  const { task: r } = await call<{ task: Task }>(K, 'Restore', { checkpointId: 'lr-1', id: 'lr-copy' });
  await waitFor(() => numbers(r.stdout).length >= 3 && Math.max(...numbers(t.stdout)) > at + 5, 30_000, 'both counters to count');
  const copy = numbers(r.stdout);
  assert.ok(copy[0]! > 1 && copy[0]! <= at + 1, `the copy starts from the checkpoint (${copy[0]}), not from 0`);
  assert.ok(alive(t.pid) && alive(r.pid));
  await remove(d, 'lr', 'lr-copy');
});

test('a paused task is checkpointed; after a kill -9 of the daemon the checkpoint is found through the log and restored', async () => {
  const dir = tempDir();
  let d = await daemon(dir);
  const t = await startCounter(d, 'pz');
  await waitFor(() => numbers(t.stdout).length >= 5, 30_000, 'the counter to count');
  await call(d.client('Tasks'), 'Pause', { id: 'pz' });
  const frozenAt = Math.max(...numbers(t.stdout));
  const cp = await call<Checkpoint>(d.client('Checkpoints'), 'Create', { id: 'pz', leaveRunning: false, name: 'pz-1' });
  assert.equal(cp.paused, true);
  assert.equal((await task(d, 'pz')).status, 'exited');
  await d.stop('SIGKILL');
  started.splice(started.indexOf(d), 1);

  d = await daemon(dir);
  const K = d.client('Checkpoints');
  const list = await call<{ checkpoints: Checkpoint[] }>(K, 'List', { id: 'pz' });
  assert.deepEqual(list.checkpoints.map((c) => [c.checkpointId, c.digest, c.paused]), [['pz-1', cp.digest, true]]);
  const { task: r } = await call<{ task: Task }>(K, 'Restore', { checkpointId: 'pz-1', id: 'pz-back' });
  assert.equal(r.status, 'running');
  await waitFor(() => numbers(r.stdout).length >= 3, 30_000, 'the restored counter to count');
  assert.equal(numbers(r.stdout)[0], frozenAt + 1);

  // Time travel shows the checkpoint; the timeline of the container holds its facts.
  const H = d.client('History');
  const head = (await call<{ seq: number }>(d.client('Events'), 'Head', {})).seq;
  const at = await call<{ checkpoints: Checkpoint[]; containers: { id: string; checkpoints: Checkpoint[]; task?: Task | null }[] }>(H, 'StateAt', { at: String(head) });
  assert.deepEqual(at.checkpoints.map((c) => c.checkpointId), ['pz-1']);
  assert.equal(at.containers.find((c) => c.id === 'pz-back')?.task?.restoredFrom, 'pz-1');
  const timeline = await new Promise<{ event: EventMsg }[]>((resolve, reject) => {
    const out: { event: EventMsg }[] = [];
    const s = (H as unknown as { Timeline: (r: unknown) => NodeJS.ReadableStream }).Timeline({ id: 'pz' });
    s.on('data', (e: { event: EventMsg }) => out.push(e));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
  const types = timeline.map((e) => e.event.type).filter((x) => !x.startsWith('Request'));
  assert.ok(types.includes('TaskPaused') && types.includes('TaskCheckpointed') && types.includes('TaskExited'), types.join(','));
  await remove(d, 'pz', 'pz-back');
});

test('refusals: the process runtime, a missing CRIU, a failed dump (the task keeps running, CRIU\'s log is named)', async () => {
  const d = await daemon();
  const K = d.client('Checkpoints');
  await call(d.client('Containers'), 'Create', { id: 'proc', runtime: 'process', args: ['/bin/sleep', '1000'] });
  await call(d.client('Tasks'), 'Create', { id: 'proc' });
  await call(d.client('Tasks'), 'Start', { id: 'proc' });
  await assert.rejects(call(K, 'Create', { id: 'proc', leaveRunning: false, name: '' }), (e: CallError) => e.code === 'FAILED_PRECONDITION' && e.grpcCode === 9);
  await assert.rejects(call(K, 'Create', { id: 'proc', leaveRunning: false, name: '../x' }), (e: CallError) => e.code === 'INVALID_ARGUMENT' && e.field === 'name');
  await assert.rejects(call(K, 'Restore', { checkpointId: 'nope', id: '' }), (e: CallError) => e.code === 'NOT_FOUND');
  await remove(d, 'proc');

  // A dump that fails: the task holds a deleted 2 MiB file, over CRIU's ghost-file limit.
  const holder = ['/bin/sh', '-c', `dd if=/dev/zero of=/dev/shm/big bs=1M count=2 2>/dev/null; exec 3</dev/shm/big; rm /dev/shm/big; ${COUNTER[2]!}`];
  await call(d.client('Containers'), 'Create', { id: 'fail', runtime: 'runc', rootfs: busyboxRootfs(), args: holder });
  await call(d.client('Tasks'), 'Create', { id: 'fail' });
  const { task: t } = await call<{ task: Task }>(d.client('Tasks'), 'Start', { id: 'fail' });
  await waitFor(() => numbers(t.stdout).length >= 2, 30_000, 'the holder to count');
  await assert.rejects(call(K, 'Create', { id: 'fail', leaveRunning: false, name: 'fail-1' }), (e: CallError) => e.code === 'RUNTIME_FAILED' && e.grpcCode === 10);
  assert.equal((await task(d, 'fail')).status, 'running');
  const n = Math.max(...numbers(t.stdout));
  await waitFor(() => Math.max(...numbers(t.stdout)) > n + 2, 10_000, 'the counter to keep counting');
  const events = await readEvents(d);
  const failed = events.filter((e) => e.type === 'RequestFailed' && e.id === 'fail').map((e) => JSON.parse(e.dataJson) as { op: string; message: string });
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.op, 'checkpoints.Create');
  const log = /(\/\S+\/dump\.log)/.exec(failed[0]!.message)?.[1];
  assert.ok(log && existsSync(log), `RequestFailed names CRIU's log: ${failed[0]!.message}`);
  assert.ok(!facts(events, 'fail').includes('TaskCheckpointed'));
  assert.deepEqual((await call<{ checkpoints: Checkpoint[] }>(K, 'List', { id: '' })).checkpoints, []);
  await remove(d, 'fail');

  // CRIU missing: the reason and the fix, before runc is asked.
  const d2 = await daemon(undefined, ['--criu', '/nonexistent/criu']);
  await startCounter(d2, 'nocriu');
  await assert.rejects(call(d2.client('Checkpoints'), 'Create', { id: 'nocriu', leaveRunning: true, name: '' }), (e: CallError) => e.code === 'FAILED_PRECONDITION');
  assert.equal((await task(d2, 'nocriu')).status, 'running');
  await remove(d2, 'nocriu');
});

test('a corrupted image, or a restore CRIU fails: a clear error and nothing half-created (no container, task, shim or process)', async () => {
  const dir = tempDir();
  let d = await daemon(dir);
  const K = d.client('Checkpoints');
  await startCounter(d, 'src');
  await waitFor(async () => numbers((await task(d, 'src')).stdout).length >= 3, 30_000, 'the counter to count');
  const bad = await call<Checkpoint>(K, 'Create', { id: 'src', leaveRunning: true, name: 'bad' });
  const good = await call<Checkpoint>(K, 'Create', { id: 'src', leaveRunning: true, name: 'good' });
  const pages = readdirSync(join(bad.imagePath, 'image')).find((f) => f.startsWith('pages-'))!;
  const file = join(bad.imagePath, 'image', pages);
  const bytes = readFileSync(file);
  bytes[0] = bytes[0]! ^ 0xff;
  writeFileSync(file, bytes);

  const nothingOf = async (dd: RunningDaemon, id: string): Promise<void> => {
    await assert.rejects(call(dd.client('Containers'), 'Get', { id }), (e: CallError) => e.code === 'CONTAINER_NOT_FOUND');
    assert.deepEqual(shimsFor(dd, id), [], 'no shim left');
    assert.ok(!runcIds(dd).includes(id), 'no runc container left');
    assert.ok(!existsSync(join(dd.state, 'bundles', 'default', id)), 'no bundle left');
  };
  await assert.rejects(call(K, 'Restore', { checkpointId: 'bad', id: 'from-bad' }), (e: CallError) => e.code === 'FAILED_PRECONDITION');
  await nothingOf(d, 'from-bad');
  await remove(d, 'src');
  await d.stop('SIGTERM');
  started.splice(started.indexOf(d), 1);

  // The image is intact but CRIU fails (a CRIU that always does): the shim spawned for the
  // restore is retired and the log says so.
  const fake = join(dir, 'fake-criu');
  writeFileSync(fake, '#!/bin/sh\necho "fake criu: refusing" >&2\nexit 1\n');
  chmodSync(fake, 0o755);
  d = await daemon(dir, ['--criu', fake]);
  const head = (await call<{ seq: number }>(d.client('Events'), 'Head', {})).seq;
  await assert.rejects(call(d.client('Checkpoints'), 'Restore', { checkpointId: good.checkpointId, id: 'from-good' }), (e: CallError) => e.code === 'RUNTIME_FAILED');
  await nothingOf(d, 'from-good');
  const events = await readEvents(d, head + 1);
  assert.deepEqual(events.map((e) => e.type).filter((x) => x.startsWith('Shim') || x.startsWith('Task') || x.startsWith('Container') || x === 'RequestFailed'), ['ShimSpawning', 'ShimLost', 'RequestFailed']);
});

test('the CLI: checkpoint, checkpoints, restore --id, checkpoint rm; exit codes', async () => {
  const d = await daemon();
  const cli = (...args: string[]) => spawnSync(process.execPath, [entryPoint('chronicle'), '--socket', d.socket, ...args], { encoding: 'utf8', timeout: 60_000 });
  const t = await startCounter(d, 'cli');
  await waitFor(() => numbers(t.stdout).length >= 3, 30_000, 'the counter to count');
  const cp = cli('checkpoint', '--leave-running', '--name', 'cli-1', 'cli');
  assert.deepEqual([cp.status, cp.stdout], [0, 'cli-1\n'], cp.stderr);
  const list = cli('--json', 'checkpoints', 'cli');
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual((JSON.parse(list.stdout) as Checkpoint[]).map((c) => [c.checkpointId, c.containerId, c.leftRunning]), [['cli-1', 'cli', true]]);
  const table = cli('checkpoints');
  assert.deepEqual(table.stdout.split('\n')[0]?.split(/\s+/), ['CHECKPOINT', 'CONTAINER', 'SIZE', 'TASK', 'PARENT', 'CREATED']);
  const r = cli('--json', 'restore', '--id', 'cli-copy', 'cli-1');
  assert.equal(r.status, 0, r.stderr);
  const restored = JSON.parse(r.stdout) as Task;
  assert.deepEqual([restored.id, restored.status, restored.restoredFrom], ['cli-copy', 'running', 'cli-1']);
  assert.equal(cli('restore', 'cli-1').status, 1, 'cli still has its running task');
  assert.equal(cli('checkpoint', 'rm', 'cli-1').status, 0);
  assert.equal(cli('checkpoint', 'rm', 'cli-1').status, 1);
  assert.equal(cli('checkpoint').status, 2, 'usage');
  await remove(d, 'cli', 'cli-copy');
});

test('crashes: after the dump, before its fact (the task\'s exit still comes, the leftover image is replaced); after a restore, before its facts (the restored task is retired)', async () => {
  const dir = tempDir();
  let d = await startDaemon({ dir, args: ['--shim-pool', '0'], env: { CHRONICLE_CRASH_AT: 'checkpoint.after-dump' } });
  started.push(d);
  const t = await startCounter(d, 'cr');
  await waitFor(() => numbers(t.stdout).length >= 3, 30_000, 'the counter to count');
  await assert.rejects(call(d.client('Checkpoints'), 'Create', { id: 'cr', leaveRunning: false, name: 'cr-1' }));
  await waitFor(() => d.child.signalCode !== null, 30_000, 'the daemon to crash after the dump');
  started.splice(started.indexOf(d), 1);
  d = await daemon(dir);
  // The dump stopped the task: its shim reports the exit, which the log lacked.
  await waitFor(async () => (await task(d, 'cr')).status === 'exited', 30_000, 'the exit after the restart');
  const K = d.client('Checkpoints');
  assert.deepEqual((await call<{ checkpoints: Checkpoint[] }>(K, 'List', { id: '' })).checkpoints, []);
  assert.ok(existsSync(join(d.root, 'checkpoints', 'cr-1')), 'a leftover the log does not name');
  await remove(d, 'cr');
  const t2 = await startCounter(d, 'cr2');
  await waitFor(() => numbers(t2.stdout).length >= 3, 30_000, 'the second counter to count');
  const cp = await call<Checkpoint>(K, 'Create', { id: 'cr2', leaveRunning: true, name: 'cr-1' });
  assert.equal(cp.containerId, 'cr2', 'the leftover was replaced');
  await remove(d, 'cr2');
  await d.stop('SIGTERM');
  started.splice(started.indexOf(d), 1);

  d = await startDaemon({ dir, args: ['--shim-pool', '0'], env: { CHRONICLE_CRASH_AT: 'restore.after-restore' } });
  started.push(d);
  await assert.rejects(call(d.client('Checkpoints'), 'Restore', { checkpointId: 'cr-1', id: 'cr-back' }));
  await waitFor(() => d.child.signalCode !== null, 30_000, 'the daemon to crash after the restore');
  started.splice(started.indexOf(d), 1);
  const shims = shimsFor(d, 'cr-back');
  assert.equal(shims.length, 1, 'the shim that restored it outlived the daemon');
  d = await daemon(dir);
  await assert.rejects(call(d.client('Containers'), 'Get', { id: 'cr-back' }), (e: CallError) => e.code === 'CONTAINER_NOT_FOUND');
  await waitFor(() => shims.every((p) => !alive(p)) && !runcIds(d).includes('cr-back'), 20_000, 'the restored task and its shim to be retired');
});
