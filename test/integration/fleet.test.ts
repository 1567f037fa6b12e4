// Fleet export against real nats-server processes (JetStream on loopback ports) and real
// daemons: two nodes in one stream, read back with the real CLI; an outage of NATS while a
// node keeps working; a daemon killed mid-export; a 3-server cluster losing a server. In
// every case each node's seqs are in the stream exactly once, gap-free, chain intact.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { entryPoint } from '../../src/entry-points.js';
import { compact } from '../../src/events/compaction.js';
import { EventLog } from '../../src/events/event-log.js';
import { encodeSnapshot, stateAt } from '../../src/projections/index.js';
import { call, readEvents, startDaemon, type EventMsg, type RunningDaemon } from '../support/daemon.js';
import { writeHistory } from '../support/history.js';
import { freePort, startNats, type NatsSetup } from '../support/nats.js';

const CLI = entryPoint('chronicle');
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function nats(size = 1): Promise<NatsSetup> {
  const n = await startNats(size);
  cleanups.push(n.cleanup);
  return n;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chr-fleet-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function node(dir: string, id: string, urls: string, extra: string[] = []): Promise<RunningDaemon> {
  const d = await startDaemon({ dir, args: ['--shim-pool', '0', '--runtime', 'process', '--export-nats', urls, '--node-id', id, ...extra] });
  cleanups.push(() => d.cleanup());
  return d;
}

interface ExportStatus {
  exportedSeq: number;
  headSeq: number;
  lag: number;
  connected: boolean;
  lastError: string;
}

async function exportStatus(d: RunningDaemon): Promise<ExportStatus> {
  const info = await call<{ exportJson: string }>(d.client('Daemon'), 'Info', {});
  return JSON.parse(info.exportJson) as ExportStatus;
}

/** Waits until everything the node committed is acknowledged by JetStream. */
async function exported(d: RunningDaemon, timeoutMs = 90_000): Promise<ExportStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await exportStatus(d);
    if (s.connected && s.lag === 0 && s.exportedSeq === s.headSeq) return s;
    if (Date.now() > deadline) throw new Error(`export did not catch up: ${JSON.stringify(s)}\n${d.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function fleet(urls: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'fleet', '--nats', urls, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface FleetEvent {
  node: string;
  seq: number;
  type: string;
  hash: string;
  ts: number;
}

function fleetEvents(urls: string, args: string[] = []): FleetEvent[] {
  const r = fleet(urls, ['--json', 'events', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FleetEvent);
}

/** The stream holds seqs 1..head of `node`, each once, chain intact (the CLI's verify). */
function assertComplete(urls: string, nodeId: string, head: number): void {
  const r = fleet(urls, ['--json', 'verify', '--node', nodeId]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const [v] = JSON.parse(r.stdout) as { ok: boolean; checked: number; firstSeq: number; lastSeq: number }[];
  assert.deepEqual(v, { node: nodeId, ok: true, checked: head, firstSeq: 1, lastSeq: head });
}

async function lifecycles(d: RunningDaemon, prefix: string, n: number, keep = false): Promise<void> {
  const C = d.client('Containers');
  const T = d.client('Tasks');
  for (let i = 0; i < n; i++) {
    const id = `${prefix}${i}`;
    await call(C, 'Create', { id, args: ['/bin/sh', '-c', `exit ${i % 5}`] });
    await call(T, 'Create', { id });
    await call(T, 'Start', { id });
    await call(T, 'Wait', { id });
    if (!keep || i % 2 === 0) {
      await call(T, 'Delete', { id });
      await call(C, 'Delete', { id });
    }
  }
}

interface ContainerMsg {
  id: string;
  namespace: string;
  task?: { status: string; pid: number; exitCode: number };
}
const summary = (cs: ContainerMsg[]): string[] => cs.map((c) => `${c.namespace}/${c.id} ${c.task ? `${c.task.status}:${c.task.pid}:${c.task.exitCode}` : '-'}`).sort();

test('two nodes export to one JetStream: fleet events, state, nodes and verify read them back', async () => {
  const n = await nats();
  const metricsPort = await freePort();
  const a = await node(tempDir(), 'node-a', n.urls, ['--metrics-address', `127.0.0.1:${metricsPort}`]);
  const b = await node(tempDir(), 'node-b', n.urls);
  await lifecycles(a, 'a', 4, true);
  await lifecycles(b, 'b', 3, true);
  const sleeper = { id: 'sleeper', args: ['/bin/sleep', '1000'] };
  await call(a.client('Containers'), 'Create', sleeper);
  await call(a.client('Tasks'), 'Create', { id: 'sleeper' });
  await call(a.client('Tasks'), 'Start', { id: 'sleeper' });
  const [sa, sb] = [await exported(a), await exported(b)];

  // Every event of each node, once, in seq order, the same as the node's own log holds.
  const all = fleetEvents(n.urls);
  for (const [d, id, s] of [[a, 'node-a', sa], [b, 'node-b', sb]] as const) {
    const own: EventMsg[] = (await readEvents(d)).filter((e) => Number(e.seq) <= s.headSeq);
    const theirs = all.filter((e) => e.node === id);
    assert.deepEqual(
      theirs.map((e) => [Number(e.seq), e.type]),
      own.map((e) => [Number(e.seq), e.type]),
      `${id}'s events in the stream`,
    );
    assertComplete(n.urls, id, s.headSeq);
  }
  assert.ok(fleetEvents(n.urls, ['--node', 'node-b']).every((e) => e.node === 'node-b'));

  // fleet state --at T equals each node's own StateAt(T), at a few times across the history.
  const times = all.filter((_, i) => i % 7 === 3).map((e) => e.ts);
  for (const t of [...times, Date.now()]) {
    const r = fleet(n.urls, ['--json', 'state', '--at', new Date(t).toISOString()]);
    assert.equal(r.code, 0, r.stderr);
    const states = (JSON.parse(r.stdout) as { nodes: { node: string; containers: ContainerMsg[] }[] }).nodes;
    for (const [d, id] of [[a, 'node-a'], [b, 'node-b']] as const) {
      const own = await call<{ containers: ContainerMsg[] }>(d.client('History'), 'StateAt', { at: new Date(t).toISOString() });
      assert.deepEqual(summary(states.find((s) => s.node === id)?.containers ?? []), summary(own.containers), `${id} at ${new Date(t).toISOString()}`);
    }
  }

  const nodes = JSON.parse(fleet(n.urls, ['--json', 'nodes']).stdout) as { node: string; messages: number; status?: { lag: number } }[];
  assert.deepEqual(
    nodes.map((x) => [x.node, x.messages]),
    [
      ['node-a', sa.headSeq],
      ['node-b', sb.headSeq],
    ],
  );
  const audit = fleet(n.urls, ['--json', 'audit', '--op', 'tasks.Start']);
  assert.deepEqual(
    (JSON.parse(audit.stdout) as { node: string; request: { id: string } }[]).map((x) => `${x.node}/${x.request.id}`).sort(),
    ['node-a/a0', 'node-a/a1', 'node-a/a2', 'node-a/a3', 'node-a/sleeper', 'node-b/b0', 'node-b/b1', 'node-b/b2'],
  );
  // Lag is a metric too.
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  assert.match(metrics, /^chronicle_export_lag_events \d+$/m);

  // fleet events --follow shows what a node does next, live.
  const follower = spawn(process.execPath, [CLI, 'fleet', '--nats', n.urls, '--json', 'events', '--follow', '--node', 'node-b', '--filter', 'type=ContainerCreated'], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(async () => void follower.kill('SIGKILL'));
  let followed = '';
  follower.stdout.on('data', (x: Buffer) => (followed += x.toString()));
  const seen = (id: string): boolean => followed.split('\n').some((l) => l.includes(`"id":"${id}"`));
  const until = async (f: () => boolean, what: string): Promise<void> => {
    for (const end = Date.now() + 30_000; !f(); await new Promise((r) => setTimeout(r, 50))) if (Date.now() > end) throw new Error(`${what}: ${followed}`);
  };
  await until(() => seen('b2'), 'the follower catches up');
  await call(b.client('Containers'), 'Create', { id: 'late', args: ['/bin/true'] });
  await until(() => seen('late'), 'the follower sees the new container');
  follower.kill('SIGTERM');
  await call(a.client('Tasks'), 'Kill', { id: 'sleeper', signal: 'KILL' });
});

test('NATS down for 20 s while the node works: its calls are committed, export catches up, no gap, no duplicate', async () => {
  const n = await nats();
  const d = await node(tempDir(), 'solo', n.urls);
  await lifecycles(d, 'before-', 3);
  const atStop = await exported(d);
  await n.servers[0]!.stop();
  // The node works on while NATS is down: every call is committed to its log (the head
  // moves on), none of it is acknowledged by JetStream (the exported seq stays).
  let rounds = 0;
  for (const down = Date.now(); Date.now() - down < 20_000; rounds++) await lifecycles(d, `c${rounds}-`, 1);
  const s = await exportStatus(d);
  const events = await readEvents(d, atStop.headSeq + 1);
  assert.equal(events.filter((e) => e.type === 'ContainerDeleted').length, rounds, `all ${rounds} lifecycles were committed during the outage`);
  assert.deepEqual([s.exportedSeq, s.connected], [atStop.exportedSeq, false], `export waits while NATS is down: ${JSON.stringify(s)}`);
  await n.servers[0]!.start();
  const done = await exported(d);
  assertComplete(n.urls, 'solo', done.headSeq);
});

test('kill -9 of the daemon in the middle of exporting a backlog: every seq once after the restart', async () => {
  const n = await nats();
  const dir = tempDir();
  mkdirSync(join(dir, 'root'), { recursive: true });
  const head = await writeHistory(join(dir, 'root', 'log'), join(dir, 'state'), 30_000);
  const d = await node(dir, 'crashy', n.urls);
  const deadline = Date.now() + 60_000;
  let s = await exportStatus(d);
  while (s.exportedSeq < 2000 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    s = await exportStatus(d);
  }
  assert.ok(s.exportedSeq > 0 && s.exportedSeq < s.headSeq, `killed mid-export (${s.exportedSeq} of ${s.headSeq})`);
  await d.stop('SIGKILL');
  const again = await node(dir, 'crashy', n.urls);
  const done = await exported(again);
  assert.ok(done.headSeq > head);
  assertComplete(n.urls, 'crashy', done.headSeq);
});

test('events compacted into an archive before they were exported are exported from the archive', async () => {
  const n = await nats();
  const dir = tempDir();
  mkdirSync(join(dir, 'root'), { recursive: true });
  const path = join(dir, 'root', 'log');
  await writeHistory(path, join(dir, 'state'), 3000);
  const log = await EventLog.open({ path });
  const archived = await compact(log, { beforeSeq: 2000, dir: join(dir, 'root', 'archive'), snapshotAt: async (seq) => encodeSnapshot(await stateAt(log, seq)) });
  await log.close();
  assert.equal(archived?.toSeq, 1999);
  const d = await node(dir, 'compacted', n.urls);
  const done = await exported(d);
  assertComplete(n.urls, 'compacted', done.headSeq);
});

test('a 3-server JetStream cluster loses a server during export: export continues, nothing lost', async () => {
  const n = await nats(3);
  const dir = tempDir();
  mkdirSync(join(dir, 'root'), { recursive: true });
  await writeHistory(join(dir, 'root', 'log'), join(dir, 'state'), 20_000);
  const d = await node(dir, 'clustered', n.urls, ['--nats-replicas', '3']);
  const deadline = Date.now() + 60_000;
  let s = await exportStatus(d);
  while (s.exportedSeq < 3000 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    s = await exportStatus(d);
  }
  assert.ok(s.exportedSeq > 0, `export started: ${JSON.stringify(s)}`);
  await n.servers[0]!.stop();
  await lifecycles(d, 'after-loss-', 2);
  const done = await exported(d);
  const alive = n.servers.slice(1).map((x) => x.url).join(',');
  // Reads need the cluster's JetStream API (its meta leader), which may take a while to be
  // elected again on a loaded machine; the stream itself already took every event.
  for (const end = Date.now() + 120_000; ; ) {
    const r = fleet(alive, ['--json', 'verify', '--node', 'clustered']);
    if (r.code === 0 || Date.now() > end) {
      assert.equal(r.code, 0, `${r.stdout}${r.stderr}\n${n.servers.slice(1).map((x) => x.output().slice(-2000)).join('\n')}`);
      break;
    }
    await new Promise((res) => setTimeout(res, 2000));
  }
  assertComplete(alive, 'clustered', done.headSeq);
});
