// Snapshots make a restart independent of history: a log with 1,000,000 events of past
// containers and 20 live ones replays as few events as a log with 1,000, and recovers all 20.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { call, readEvents, startDaemon, type RunningDaemon, type TaskMsg } from '../support/daemon.js';
import { writeHistory } from '../support/history.js';
import { alive, waitFor } from '../support/shim-harness.js';

const started: RunningDaemon[] = [];
const dirs: string[] = [];
after(async () => {
  for (const d of started) await d.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Recovered {
  replayed: number;
  snapshotSeq: number;
  alive: number;
  durations: { replayMs: number; probeMs: number };
}

/** History of `events`, then 20 live containers, kill -9, restart: what recovery reported. */
async function restartWithHistory(events: number): Promise<Recovered> {
  const dir = mkdtempSync(join(tmpdir(), 'chr-rh-'));
  dirs.push(dir);
  const written = await writeHistory(join(dir, 'root', 'log'), join(dir, 'state'), events);
  assert.ok(written >= events);
  const first = await startDaemon({ dir, args: ['--shim-pool', '0', '--log-level', 'info'] });
  started.push(first);
  for (let i = 0; i < 20; i++) {
    const id = `live-${i}`;
    await call(first.client('Containers'), 'Create', { id, runtime: 'process', args: ['/bin/sleep', '1000'] });
    await call(first.client('Tasks'), 'Create', { id });
    await call(first.client('Tasks'), 'Start', { id });
  }
  const before = (await call<{ tasks: TaskMsg[] }>(first.client('Tasks'), 'List', {})).tasks;
  const head = (await call<{ seq: number }>(first.client('Events'), 'Head', {})).seq;
  await first.stop('SIGKILL');

  const second = await startDaemon({ dir, args: ['--shim-pool', '0'] });
  started.push(second);
  const now = (await call<{ tasks: TaskMsg[] }>(second.client('Tasks'), 'List', {})).tasks;
  assert.equal(now.filter((t) => t.status === 'running').length, 20, 'all 20 verified and running');
  const recovered = JSON.parse((await readEvents(second, head + 1)).find((e) => e.type === 'DaemonRecovered')!.dataJson) as Recovered;
  for (const t of now) {
    await call(second.client('Tasks'), 'Delete', { id: t.id, force: true });
    await call(second.client('Containers'), 'Delete', { id: t.id });
  }
  for (const t of before) await waitFor(() => !alive(t.shimPid), 20_000, 'shims to exit');
  return recovered;
}

test('1,000,000 events of history replay no more than 1,000 do (snapshots), and 20 live containers come back', async () => {
  const small = await restartWithHistory(1_000);
  const large = await restartWithHistory(1_000_000);
  console.log(`# history 1k: ${JSON.stringify(small)}\n# history 1M: ${JSON.stringify(large)}`);
  assert.equal(small.alive, 20);
  assert.equal(large.alive, 20);
  assert.ok(large.snapshotSeq >= 1_000_000, 'recovery starts from a snapshot taken after the history');
  // Both replay only what followed their last snapshot: the 20 containers' own events.
  assert.ok(large.replayed <= small.replayed + 50, `replayed ${large.replayed} events after 1M of history, ${small.replayed} after 1k`);
  assert.ok(large.replayed < 1_000);
});
