// Restarts as a user meets them (issue: restart): kill -9 of the daemon with live containers,
// a container that exits while nobody listens, a subscriber that resumes across the restart,
// and a start-up that meets dead, wedged and live shims at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Client } from '@grpc/grpc-js';
import { busyboxRootfs } from '../support/busybox-bundle.js';
import { call, readEvents, startDaemon, type EventMsg, type RunningDaemon, type TaskMsg } from '../support/daemon.js';
import { alive, waitFor } from '../support/shim-harness.js';

const started: RunningDaemon[] = [];
const dirs: string[] = [];
const stopped: number[] = [];
after(async () => {
  for (const pid of stopped) tryKill(pid, 'SIGCONT');
  for (const d of started) await d.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});


function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function daemon(dir: string, args: string[] = []): Promise<RunningDaemon> {
  const d = await startDaemon({ dir, args: ['--shim-pool', '0', ...args] });
  started.push(d);
  return d;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chr-rs-'));
  dirs.push(dir);
  return dir;
}

async function run(d: RunningDaemon, id: string, spec: Record<string, unknown>): Promise<void> {
  await call(d.client('Containers'), 'Create', { id, ...spec });
  await call(d.client('Tasks'), 'Create', { id });
  await call(d.client('Tasks'), 'Start', { id });
}

const sleeper = (runtime: 'runc' | 'process'): Record<string, unknown> =>
  runtime === 'runc' ? { runtime, rootfs: busyboxRootfs(), args: ['/bin/sleep', '1000'] } : { runtime, args: ['/bin/sleep', '1000'] };

const list = async (T: Client): Promise<Map<string, TaskMsg>> => new Map((await call<{ tasks: TaskMsg[] }>(T, 'List', {})).tasks.map((t) => [t.id, t]));

async function removeAll(d: RunningDaemon, shimPids: number[]): Promise<void> {
  const T = d.client('Tasks');
  for (const id of (await list(T)).keys()) {
    await call(T, 'Delete', { id, force: true });
    await call(d.client('Containers'), 'Delete', { id });
  }
  for (const p of shimPids) await waitFor(() => !alive(p), 20_000, 'every shim to exit after its last Delete');
}

test('10 live containers survive kill -9 of the daemon with their pids, and stay under control', async () => {
  const dir = tempDir();
  const first = await daemon(dir);
  const ids = Array.from({ length: 10 }, (_, i) => `live-${i}`);
  for (const [i, id] of ids.entries()) await run(first, id, sleeper(i < 3 ? 'runc' : 'process'));
  const before = await list(first.client('Tasks'));
  await first.stop('SIGKILL');

  const second = await daemon(dir);
  const T = second.client('Tasks');
  const now = await list(T);
  for (const id of ids) {
    assert.equal(now.get(id)?.status, 'running', `${id} is listed running`);
    assert.equal(now.get(id)?.pid, before.get(id)!.pid, `${id} keeps its pid`);
    assert.equal(now.get(id)?.shimPid, before.get(id)!.shimPid, `${id} keeps its shim`);
  }
  // Control is back, on runc and process containers alike.
  for (const id of ['live-0', 'live-5']) {
    await call(T, 'Pause', { id });
    assert.equal((await list(T)).get(id)?.status, 'paused');
    await call(T, 'Resume', { id });
    await call(T, 'Exec', { id, execId: 'probe', args: ['/bin/sh', '-c', 'exit 3'] });
    assert.equal((await call<{ exitCode: number }>(T, 'Wait', { id, execId: 'probe' })).exitCode, 3);
    await call(T, 'Kill', { id, signal: 'KILL' });
    assert.equal((await call<{ exitCode: number }>(T, 'Wait', { id })).exitCode, 137);
    await waitFor(() => !alive(before.get(id)!.pid), 10_000, `${id} to die`);
  }
  await removeAll(second, [...before.values()].map((t) => t.shimPid));
});

test('an exit during 30 s of downtime keeps its code and time; a resuming subscriber sees it once', async () => {
  const dir = tempDir();
  const first = await daemon(dir);
  await run(first, 'steady', sleeper('process'));
  await run(first, 'leaver', { runtime: 'process', args: ['/bin/sh', '-c', 'sleep 3; exit 7'] });
  const before = await list(first.client('Tasks'));

  // A subscriber follows the log until the daemon dies under it.
  const seen: EventMsg[] = [];
  const stream = (first.client('Events') as unknown as { Subscribe: (r: unknown) => NodeJS.ReadableStream }).Subscribe({ fromSeq: 1, follow: true });
  const broken = new Promise<void>((resolve) => {
    stream.on('data', (e: EventMsg) => seen.push({ ...e, seq: Number(e.seq) }));
    stream.on('error', () => resolve());
    stream.on('end', () => resolve());
  });
  const headBefore = (await call<{ seq: number }>(first.client('Events'), 'Head', {})).seq;
  await waitFor(() => seen.at(-1)?.seq === headBefore, 10_000, 'the subscriber to catch up');
  await first.stop('SIGKILL');
  const downAt = Date.now();
  await broken;
  await new Promise((r) => setTimeout(r, 30_000));
  assert.ok(!alive(before.get('leaver')!.pid), 'the leaver exited while the daemon was down');
  const upAt = Date.now();

  const second = await daemon(dir);
  const last = seen.at(-1)!.seq;
  const resumed = await readEvents(second, last + 1);
  assert.equal(resumed[0]?.seq, last + 1, 'the resumed stream starts right after the last seq seen');
  for (let i = 1; i < resumed.length; i++) assert.equal(resumed[i]!.seq, resumed[i - 1]!.seq + 1, 'no gap');
  const exits = [...seen, ...resumed].filter((e) => e.type === 'TaskExited' && e.id === 'leaver');
  assert.equal(exits.length, 1, 'the downtime exit is delivered once');
  const exit = JSON.parse(exits[0]!.dataJson) as { exitCode: number; exitedAt: number; reason: string };
  assert.equal(exit.exitCode, 7, 'the true exit code');
  assert.equal(exit.reason, 'exited');
  assert.ok(exit.exitedAt > downAt && exit.exitedAt < upAt, 'exitedAt lies inside the downtime');
  const recoveredAt = resumed.find((e) => e.type === 'DaemonRecovered')!.seq;
  assert.ok(exits[0]!.seq < recoveredAt, 'the exit is in the log before recovery ends and the daemon serves');
  assert.equal((await list(second.client('Tasks'))).get('steady')?.status, 'running');
  await removeAll(second, [...before.values()].map((t) => t.shimPid));
});

test('3 dead shims, 1 wedged (SIGSTOPped) and 20 live: start-up ends within its budget with the 20 verified', async () => {
  const dir = tempDir();
  const first = await daemon(dir);
  const ids = Array.from({ length: 24 }, (_, i) => `c${i}`);
  for (const id of ids) await run(first, id, sleeper('process'));
  const before = await list(first.client('Tasks'));
  await first.stop('SIGKILL');
  const dead = ['c0', 'c1', 'c2'].map((id) => before.get(id)!);
  const wedged = before.get('c3')!;
  for (const t of dead) tryKill(t.shimPid, 'SIGKILL');
  tryKill(wedged.shimPid, 'SIGSTOP'); // its socket still accepts; nothing answers
  stopped.push(wedged.shimPid);
  for (const t of dead) await waitFor(() => !alive(t.shimPid), 20_000, 'the dead shims to die');

  const budgetMs = 8_000;
  const second = await daemon(dir, ['--probe-timeout-ms', '1000', '--recovery-budget-ms', String(budgetMs)]);
  const now = await list(second.client('Tasks'));
  for (const id of ids.slice(4)) {
    assert.equal(now.get(id)?.status, 'running', `${id} verified and running`);
    assert.equal(now.get(id)?.pid, before.get(id)!.pid);
  }
  for (const t of [...dead, wedged]) {
    assert.equal(now.get(t.id)?.status, 'exited');
    assert.equal(now.get(t.id)?.exitReason, 'shim-lost');
    await waitFor(() => !alive(t.pid), 10_000, `${t.id}'s container to be cleaned up`);
  }
  await waitFor(() => !alive(wedged.shimPid), 10_000, 'the wedged shim to be killed');
  const events = await readEvents(second);
  const recovered = JSON.parse(events.filter((e) => e.type === 'DaemonRecovered').at(-1)!.dataJson) as { alive: number; lost: number; durations: { probeMs: number } };
  assert.equal(recovered.alive, 20);
  assert.equal(recovered.lost, 4);
  assert.ok(recovered.durations.probeMs < budgetMs, `probing took ${recovered.durations.probeMs} ms, within the ${budgetMs} ms budget`);
  await removeAll(second, [...before.values()].map((t) => t.shimPid));
});

test('shims the recovery budget left unprobed are probed after the daemon serves, not declared lost', async () => {
  const dir = tempDir();
  const first = await daemon(dir);
  const ids = ['b1', 'b2', 'b3', 'b4'];
  for (const id of ids) await run(first, id, sleeper('process'));
  const before = await list(first.client('Tasks'));
  await first.stop('SIGKILL');

  const second = await daemon(dir, ['--recovery-budget-ms', '0']);
  const events = await readEvents(second);
  const recovered = JSON.parse(events.filter((e) => e.type === 'DaemonRecovered').at(-1)!.dataJson) as { alive: number; lost: number };
  assert.equal(recovered.lost, 0, 'running out of budget is not evidence of death');
  assert.equal(recovered.alive, 0, 'a budget of 0 probes nothing before serving');
  // Every task is still running, and each is followed again: an exit reaches the log.
  const T = second.client('Tasks');
  for (const id of ids) assert.equal((await list(T)).get(id)?.status, 'running');
  const victim = before.get('b4')!;
  await new Promise((r) => setTimeout(r, 1000)); // the late probes run while serving
  process.kill(victim.pid, 'SIGKILL');
  await waitFor(async () => (await list(T)).get('b4')?.status === 'exited', 20_000, "b4's exit to be recorded");
  assert.equal((await list(T)).get('b4')?.exitCode, 137);
  assert.ok(!(await readEvents(second)).some((e) => e.type === 'ShimLost'), 'no shim was declared lost');
  await removeAll(second, [...before.values()].map((t) => t.shimPid));
});
