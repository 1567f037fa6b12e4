// History: a scripted past over five containers, with a clean restart and a kill -9 in
// between, then every question a debugger or an auditor asks of it. StateAt is checked at
// every seq against a fold of that prefix, computed here from the events themselves.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Client } from '@grpc/grpc-js';
import { ClassicLevel } from 'classic-level';
import { pack, unpack } from 'msgpackr';
import type { ChangeMessage } from '../../src/api/history-service.js';
import type { Envelope } from '../../src/events/schemas.js';
import { logKey } from '../../src/events/keys.js';
import { fold, initialState, type State } from '../../src/projections/index.js';
import { call, readEvents, startDaemon, type CallError, type EventMsg, type RunningDaemon } from '../support/daemon.js';

interface ContainerMsg {
  id: string;
  namespace: string;
  labels: Record<string, string>;
  createdAt: number;
  task?: { status: string; pid: number; exitCode: number; exitReason: string };
}
type ChangeMsg = ChangeMessage;
interface AuditRecordMsg {
  request: EventMsg;
  outcome: string;
  facts: EventMsg[];
}

/** A request record's data: which operation, and the error code of a refusal. */
const dataOf = (r: AuditRecordMsg): { op: string; code?: string } => JSON.parse(r.request.dataJson) as { op: string; code?: string };

const started: RunningDaemon[] = [];
let dir = '';
let d: RunningDaemon;
let events: EventMsg[] = [];

after(async () => {
  for (const x of started) await x.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function daemon(): Promise<RunningDaemon> {
  const x = await startDaemon({ dir, args: ['--shim-pool', '0'] });
  started.push(x);
  return x;
}

const C = (): Client => d.client('Containers');
const T = (): Client => d.client('Tasks');
const H = (): Client => d.client('History');

/** Every message of a server stream (namespace "default"). */
function stream<T>(client: Client, method: string, req: unknown): Promise<T[]> {
  const fn = (client as unknown as Record<string, (r: unknown) => NodeJS.ReadableStream>)[method]!;
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    const s = fn.call(client, req);
    s.on('data', (x: T) => out.push(x));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

/** The event as the log holds it, rebuilt from its message. */
function envelope(e: EventMsg & { ts: number; version: number; req: string; shimSeq: number; prev: string; hash: string }): Envelope {
  return {
    seq: e.seq,
    ts: e.ts,
    ns: e.namespace,
    id: e.id,
    type: e.type,
    v: e.version,
    data: JSON.parse(e.dataJson) as unknown,
    actor: e.actor,
    ...(e.req ? { req: e.req } : {}),
    ...(e.shimSeq ? { shimSeq: e.shimSeq } : {}),
    prev: e.prev,
    hash: e.hash,
  } as Envelope;
}

/** What a user compares: who exists, with which labels, and how their task stands. */
function summary(containers: ContainerMsg[]): string[] {
  return containers
    .map((c) => `${c.namespace}/${c.id} ${JSON.stringify(Object.entries(c.labels).sort())} ${c.task ? `${c.task.status}:${c.task.pid}:${c.task.exitCode}:${c.task.exitReason}` : '-'}`)
    .sort();
}
function summaryOf(s: State): string[] {
  return summary(
    Object.values(s.containers).map((c) => ({
      id: c.id,
      namespace: c.ns,
      labels: c.labels,
      createdAt: c.createdAt,
      ...(c.task ? { task: { status: c.task.status, pid: c.task.pid, exitCode: c.task.exitCode ?? 0, exitReason: c.task.exitReason ?? '' } } : {}),
    })),
  );
}

const sleeper = { runtime: 'process', args: ['/bin/sleep', '1000'] };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chr-h-'));
  d = await daemon();
  await call(C(), 'Create', { id: 'c1', ...sleeper });
  await call(T(), 'Create', { id: 'c1' });
  await call(T(), 'Start', { id: 'c1' });
  await call(T(), 'Pause', { id: 'c1' });
  await call(T(), 'Pause', { id: 'c1' }).catch(() => undefined); // denied: already paused
  await call(T(), 'Resume', { id: 'c1' });
  await call(T(), 'Exec', { id: 'c1', execId: 'x1', args: ['/bin/true'] });
  await call(T(), 'Wait', { id: 'c1', execId: 'x1' });
  await call(C(), 'Create', { id: 'c2', ...sleeper, labels: { tier: 'db' } });
  await call(T(), 'Create', { id: 'c2' });
  await call(T(), 'Start', { id: 'c2' });
  await call(C(), 'Create', { id: 'bad/id', ...sleeper }).catch(() => undefined); // failed: INVALID_ARGUMENT
  await d.stop('SIGTERM');

  d = await daemon();
  await call(T(), 'Kill', { id: 'c1', signal: 'KILL' });
  await call(T(), 'Wait', { id: 'c1' });
  await call(T(), 'Delete', { id: 'c1' });
  await call(C(), 'Delete', { id: 'c1' });
  await call(C(), 'Create', { id: 'c3', ...sleeper, labels: { a: '1' } });
  await call(C(), 'Update', { id: 'c3', labels: { a: '2', b: 'x' } });
  await call(C(), 'Delete', { id: 'c3' });
  await call(C(), 'Create', { id: 'c4', runtime: 'process', args: ['/bin/sh', '-c', 'exit 4'] });
  await call(T(), 'Create', { id: 'c4' });
  await call(T(), 'Start', { id: 'c4' });
  await call(T(), 'Wait', { id: 'c4' });
  await d.stop('SIGKILL');

  d = await daemon();
  await call(C(), 'Create', { id: 'c5', ...sleeper });
  await call(T(), 'Create', { id: 'c5' });
  await call(T(), 'Start', { id: 'c5' });
  await call(T(), 'Kill', { id: 'c2', signal: 'TERM' });
  await call(T(), 'Wait', { id: 'c2' });
  events = (await readEvents(d)).map((e) => ({ ...e, seq: Number(e.seq) }));
});

test('StateAt every seq equals the fold of that prefix', async () => {
  const all = events.map((e) => envelope(e as Parameters<typeof envelope>[0]));
  let state = initialState();
  for (let seq = 0; seq <= all.length; seq++) {
    if (seq > 0) state = fold(state, [all[seq - 1]!]);
    const r = await call<{ seq: number; containers: ContainerMsg[] }>(H(), 'StateAt', { at: String(seq) });
    assert.equal(Number(r.seq), seq);
    assert.deepEqual(summary(r.containers), summaryOf(state), `state at seq ${seq}`);
  }
});

test('StateAt a time is the state after the last event with ts <= that time, to the millisecond', async () => {
  const all = events.map((e) => envelope(e as Parameters<typeof envelope>[0]));
  // Boundaries: the last event of each distinct timestamp.
  const boundaries = all.filter((e, i) => all[i + 1]?.ts !== e.ts).slice(0, 40);
  for (const e of boundaries) {
    const at = await call<{ seq: number }>(H(), 'StateAt', { at: new Date(e.ts).toISOString() });
    assert.equal(Number(at.seq), e.seq, `at ${new Date(e.ts).toISOString()}`);
    const just = await call<{ seq: number }>(H(), 'StateAt', { at: new Date(e.ts - 1).toISOString() });
    assert.equal(Number(just.seq), all.filter((x) => x.ts <= e.ts - 1).at(-1)?.seq ?? 0, 'one ms earlier');
  }
  const recent = await call<{ seq: number }>(H(), 'StateAt', { at: '10m' });
  assert.equal(Number(recent.seq), 0, 'ten minutes ago, before anything happened');
  await assert.rejects(call(H(), 'StateAt', { at: 'yesterday' }), (e: CallError) => e.code === 'INVALID_ARGUMENT' && e.field === 'at');
});

test('Diff from the start to the head: what exists now and how it got there', async () => {
  const r = await call<{ fromSeq: number; toSeq: number; changes: ChangeMsg[] }>(H(), 'Diff', { from: '0', to: '' });
  const byId = (id: string): string[] => r.changes.filter((c) => c.id === id).map((c) => `${c.kind}:${c.toStatus}:${c.exitCode}`);
  assert.deepEqual(byId('c1'), [], 'created and deleted in between: no trace');
  assert.deepEqual(byId('c2'), ['created:exited:0', 'task-created:exited:0', 'exited:exited:143']);
  assert.deepEqual(byId('c4'), ['created:exited:0', 'task-created:exited:0', 'exited:exited:4']);
  assert.deepEqual(byId('c5'), ['created:running:0', 'task-created:running:0']);
  // Between c1's start and its pause: one transition.
  const started = events.find((e) => e.type === 'TaskStarted' && e.id === 'c1')!.seq;
  const paused = events.find((e) => e.type === 'TaskPaused' && e.id === 'c1')!.seq;
  const step = await call<{ changes: ChangeMsg[] }>(H(), 'Diff', { from: String(started), to: String(paused) });
  assert.deepEqual(
    step.changes.map((c) => [c.id, c.kind, c.fromStatus, c.toStatus]),
    [['c1', 'transition', 'running', 'paused']],
  );
  await assert.rejects(call(H(), 'Diff', { from: String(paused), to: String(started) }), (e: CallError) => e.code === 'INVALID_ARGUMENT' && e.field === 'to');
});

test("Timeline: one container's events in order, each with the container after it", async () => {
  const entries = await stream<{ event: EventMsg; after?: ContainerMsg }>(H(), 'Timeline', { id: 'c1' });
  const own = events.filter((e) => e.id === 'c1' && e.namespace === 'default');
  assert.deepEqual(
    entries.map((x) => Number(x.event.seq)),
    own.map((e) => e.seq),
  );
  const at = (type: string): ContainerMsg | undefined => entries.find((x) => x.event.type === type)?.after;
  assert.equal(at('TaskPaused')?.task?.status, 'paused');
  assert.equal(at('TaskResumed')?.task?.status, 'running');
  assert.equal(at('TaskExited')?.task?.exitCode, 137);
  assert.ok(entries.some((x) => x.event.type === 'ContainerDeleted'));
  assert.equal(at('ContainerDeleted') ?? null, null, 'gone after ContainerDeleted');
});

test('Audit: every request with its outcome and its facts; filters and pages', async () => {
  const starts = await call<{ records: AuditRecordMsg[] }>(H(), 'Audit', { op: 'tasks.Start' });
  assert.deepEqual(
    starts.records.map((r) => r.request.id),
    ['c1', 'c2', 'c4', 'c5'],
  );
  for (const r of starts.records) {
    assert.equal(r.outcome, 'completed');
    assert.deepEqual(
      r.facts.map((f) => f.type),
      ['TaskStarted'],
      `${r.request.id}'s start produced its TaskStarted`,
    );
  }
  const denied = await call<{ records: AuditRecordMsg[] }>(H(), 'Audit', { outcome: 'denied' });
  assert.deepEqual(
    denied.records.map((r) => [dataOf(r).op, r.request.id, dataOf(r).code]),
    [['tasks.Pause', 'c1', 'TASK_STATE']],
  );
  assert.deepEqual(denied.records[0]!.facts, [], 'a refusal appends nothing else');
  const failed = await call<{ records: AuditRecordMsg[] }>(H(), 'Audit', { outcome: 'failed' });
  assert.deepEqual(
    failed.records.map((r) => [dataOf(r).op, dataOf(r).code]),
    [['containers.Create', 'INVALID_ARGUMENT']],
  );
  const all = await call<{ records: AuditRecordMsg[] }>(H(), 'Audit', {});
  const actors = new Set(all.records.map((r) => r.request.actor));
  assert.deepEqual([...actors], [`uid:${process.getuid!()}`], 'every record names its actor');
  assert.equal((await call<{ records: AuditRecordMsg[] }>(H(), 'Audit', { actor: 'uid:4242' })).records.length, 0);
  // Pages of 3 walk the same records, in order, once.
  const paged: AuditRecordMsg[] = [];
  let token = '';
  do {
    const page = await call<{ records: AuditRecordMsg[]; nextPageToken: string }>(H(), 'Audit', { limit: 3, pageToken: token });
    paged.push(...page.records);
    token = page.nextPageToken;
  } while (token);
  assert.deepEqual(
    paged.map((r) => Number(r.request.seq)),
    all.records.map((r) => Number(r.request.seq)),
  );
  const c4 = await call<{ records: AuditRecordMsg[] }>(H(), 'Audit', { id: 'c4' });
  assert.deepEqual(
    c4.records.map((r) => dataOf(r).op),
    ['containers.Create', 'tasks.Create', 'tasks.Start'],
  );
});

test('Replay: one step per event, each with the change it made', async () => {
  const paused = events.find((e) => e.type === 'TaskPaused' && e.id === 'c1')!.seq;
  const steps = await stream<{ event: EventMsg; changes: ChangeMsg[] }>(H(), 'Replay', { from: String(paused - 2), to: String(paused + 2) });
  assert.deepEqual(
    steps.map((s) => Number(s.event.seq)),
    [paused - 2, paused - 1, paused, paused + 1, paused + 2],
  );
  const step = steps.find((s) => Number(s.event.seq) === paused)!;
  assert.deepEqual(
    step.changes.map((c) => [c.kind, c.fromStatus, c.toStatus]),
    [['transition', 'running', 'paused']],
  );
});

test('tampering: Verify names the changed seq; the daemon refuses to append and says why', async () => {
  assert.deepEqual(await call(H(), 'Verify', {}), { ok: true, checked: events.length, firstBadSeq: 0, reason: '' });
  for (const id of ['c2', 'c4', 'c5']) await call(T(), 'Delete', { id, force: true });
  await d.stop('SIGTERM');
  // Rewrite c4's exit code in place, keeping the stored hash.
  const target = events.find((e) => e.type === 'TaskExited' && e.id === 'c4')!.seq;
  const db = new ClassicLevel<Buffer, Buffer>(join(dir, 'root', 'log'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const lastKey = async (l: ClassicLevel<Buffer, Buffer>): Promise<string> => (await l.keys({ gte: logKey(0), lte: logKey(Number.MAX_SAFE_INTEGER), reverse: true, limit: 1 }).all())[0]!.toString('hex');
  const lastBefore = await lastKey(db);
  const value = (await db.get(logKey(target)))!;
  const body = unpack(value.subarray(0, value.length - 34)) as unknown[];
  (body[6] as { exitCode: number }).exitCode = 0;
  await db.put(logKey(target), Buffer.concat([pack(body), value.subarray(value.length - 34)]));
  await db.close();

  d = await daemon();
  const v = await call<{ ok: boolean; firstBadSeq: number; reason: string }>(H(), 'Verify', {});
  assert.equal(v.ok, false);
  assert.equal(Number(v.firstBadSeq), target, 'Verify names the changed event');
  await assert.rejects(
    call(C(), 'Create', { id: 'after', ...sleeper }),
    (e: CallError & Error) => e.grpcCode === 15 && e.code === 'CHAIN_BROKEN' && e.message.includes(`seq ${target}`),
    'DATA_LOSS, naming the bad seq',
  );
  await d.stop('SIGTERM');
  const reopened = new ClassicLevel<Buffer, Buffer>(join(dir, 'root', 'log'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await reopened.open();
  try {
    assert.equal(await lastKey(reopened), lastBefore, 'nothing was appended after the bad record');
  } finally {
    await reopened.close();
  }
});
