// The web UI's HTTP endpoints against a real daemon with a scripted history (two
// daemons' lives, pause/resume, a kill, an exit code): every JSON answer equals what
// chronicle.v1.History answers over gRPC, the overview draws exactly the projection's
// statuses, bad input is a 400 naming the parameter, the event stream resumes by seq and
// follows live, and the bearer token and the loopback rule hold.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AuditWire, ContainerWire, DiffWire, ErrorWire, HeadWire, LiveEventWire, OverviewMessage, StateAtWire, TimelineWire, VerifyWire } from '../../src/api/http-wire.js';
import { call, readEvents, startDaemon, type EventMsg, type RunningDaemon } from '../support/daemon.js';
import { getJson, sse, webUrl } from '../support/web.js';

const started: RunningDaemon[] = [];
let dir = '';
let d: RunningDaemon;
let base = '';
let events: EventMsg[] = [];

after(async () => {
  for (const x of started) await x.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function daemon(args: string[] = [], env: NodeJS.ProcessEnv = {}, ownDir = dir): Promise<RunningDaemon> {
  const x = await startDaemon({ dir: ownDir, args: ['--shim-pool', '0', '--http', '127.0.0.1:0', ...args], env });
  started.push(x);
  return x;
}

const sleeper = { runtime: 'process', args: ['/bin/sleep', '1000'] };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chr-web-'));
  d = await daemon();
  const C = d.client('Containers');
  const T = d.client('Tasks');
  await call(C, 'Create', { id: 'c1', ...sleeper, labels: { tier: 'web' } });
  await call(T, 'Create', { id: 'c1' });
  await call(T, 'Start', { id: 'c1' });
  await call(T, 'Pause', { id: 'c1' });
  await call(T, 'Resume', { id: 'c1' });
  await call(C, 'Create', { id: 'c2', ...sleeper, labels: { tier: 'db' } });
  await call(T, 'Create', { id: 'c2' });
  await call(T, 'Start', { id: 'c2' });
  await d.stop('SIGTERM');
  d = await daemon();
  const C2 = d.client('Containers');
  const T2 = d.client('Tasks');
  await call(T2, 'Kill', { id: 'c1', signal: 'KILL' });
  await call(T2, 'Wait', { id: 'c1' });
  await call(T2, 'Delete', { id: 'c1' });
  await call(C2, 'Delete', { id: 'c1' });
  await call(C2, 'Create', { id: 'c3', runtime: 'process', args: ['/bin/sh', '-c', 'exit 3'] });
  await call(T2, 'Create', { id: 'c3' });
  await call(T2, 'Start', { id: 'c3' });
  await call(T2, 'Wait', { id: 'c3' });
  events = (await readEvents(d)).map((e) => ({ ...e, seq: Number(e.seq) }));
  base = await webUrl(d);
});

/** Who exists and how their task stands, as the table shows it. */
function summary(cs: readonly ContainerWire[]): string[] {
  return cs.map((c) => `${c.namespace}/${c.id} ${JSON.stringify(c.labels)} ${c.task ? `${c.task.status}:${c.task.exitCode}` : '-'}`).sort();
}

test('overview: one row per container, and the statuses it went through, in seq order', async () => {
  const { status, body } = await getJson<OverviewMessage>(`${base}api/overview`);
  assert.equal(status, 200);
  assert.equal(body.head, events.at(-1)!.seq);
  assert.deepEqual(
    body.rows.map((r) => [r.ns, r.id, r.labels]),
    [
      ['default', 'c1', { tier: 'web' }],
      ['default', 'c2', { tier: 'db' }],
      ['default', 'c3', {}],
    ],
  );
  const codes = (row: number): string[] => body.marks.filter((m) => m[2] === row).map((m) => (m[3] === 'exited' ? `exited:${m[4]}` : m[3]));
  assert.deepEqual(codes(0), ['created', 'running', 'paused', 'running', 'exited:137', 'created', 'deleted']);
  assert.deepEqual(codes(1), ['created', 'running']);
  assert.deepEqual(codes(2), ['created', 'running', 'exited:3']);
  // Daemon rules: each daemon's start (and its recovery), and the clean stop between them.
  const daemonEvents = events.filter((e) => e.type.startsWith('Daemon')).map((e) => [e.seq, e.type]);
  assert.deepEqual(
    body.marks.filter((m) => m[2] === -1).map((m) => [m[0], { started: 'DaemonStarted', recovered: 'DaemonRecovered', stopped: 'DaemonStopped' }[m[3] as string]]),
    daemonEvents,
  );
  assert.ok(daemonEvents.filter(([, t]) => t === 'DaemonStarted').length === 2);
  // Every mark names an event of that container (or of the daemon) at that seq.
  for (const [seq, , row] of body.marks) {
    const e = events.find((x) => x.seq === seq)!;
    assert.equal(row === -1 ? '' : body.rows[row]!.id, e.id, `mark at seq ${seq}`);
  }
});

test('state-at every seq equals History.StateAt; with since it carries History.Diff', async () => {
  const H = d.client('History');
  for (let seq = 0; seq <= events.length; seq++) {
    const web = await getJson<StateAtWire>(`${base}api/state-at?at=${seq}`);
    const grpc = await call<{ seq: number; containers: ContainerWire[] }>(H, 'StateAt', { at: String(seq) });
    assert.equal(web.body.seq, seq);
    assert.deepEqual(summary(web.body.containers), summary(grpc.containers), `state at seq ${seq}`);
  }
  const ts = events[Math.floor(events.length / 2)]!;
  const at = new Date((await call<{ ts: number }>(H, 'StateAt', { at: String(ts.seq) })).ts).toISOString();
  const byTime = await getJson<StateAtWire>(`${base}api/state-at?at=${encodeURIComponent(at)}`);
  const grpcByTime = await call<{ seq: number; containers: ContainerWire[] }>(H, 'StateAt', { at });
  assert.equal(byTime.body.seq, Number(grpcByTime.seq));
  assert.deepEqual(summary(byTime.body.containers), summary(grpcByTime.containers));
  for (const [from, to] of [
    [3, 20],
    [0, events.length],
    [10, 11],
  ] as const) {
    const scrub = await getJson<StateAtWire>(`${base}api/state-at?at=${to}&since=${from}`);
    const diff = await getJson<DiffWire>(`${base}api/diff?from=${from}&to=${to}`);
    const grpc = await call<DiffWire>(H, 'Diff', { from: String(from), to: String(to) });
    assert.equal(scrub.body.sinceSeq, from);
    assert.deepEqual(scrub.body.changes, grpc.changes);
    assert.deepEqual(diff.body.changes, grpc.changes);
    assert.equal(diff.body.fromSeq, Number(grpc.fromSeq));
  }
  // Backwards: the same changes seen from the other side.
  const back = await getJson<StateAtWire>(`${base}api/state-at?at=0&since=${events.length}`);
  assert.deepEqual(back.body.changes?.map((c) => [c.id, c.kind]).sort(), [['c2', 'deleted'], ['c3', 'deleted']]);
});

test('timeline, audit and verify answer as History does', async () => {
  const H = d.client('History');
  const tl = await getJson<TimelineWire>(`${base}api/timeline?id=c1`);
  assert.deepEqual(
    tl.body.entries.map((x) => x.event.seq),
    events.filter((e) => e.id === 'c1').map((e) => e.seq),
  );
  assert.equal(tl.body.entries.find((x) => x.event.type === 'TaskExited')?.after?.task?.exitCode, 137);
  const web = await getJson<AuditWire>(`${base}api/audit?id=c1`);
  const grpc = await call<AuditWire>(H, 'Audit', { id: 'c1' });
  assert.deepEqual(
    web.body.records.map((r) => [r.request.seq, r.outcome, r.facts.map((f) => f.type)]),
    grpc.records.map((r) => [Number(r.request.seq), r.outcome, r.facts.map((f) => f.type)]),
  );
  assert.deepEqual(
    web.body.records.map((r) => (JSON.parse(r.request.dataJson) as { op: string }).op),
    ['containers.Create', 'tasks.Create', 'tasks.Start', 'tasks.Pause', 'tasks.Resume', 'tasks.Kill', 'tasks.Delete', 'containers.Delete'],
  );
  const page = await getJson<AuditWire>(`${base}api/audit?limit=2`);
  assert.equal(page.body.records.length, 2);
  assert.notEqual(page.body.nextPageToken, '');
  const v = await getJson<VerifyWire>(`${base}api/verify`);
  assert.deepEqual(v.body, { ok: true, checked: events.length, firstBadSeq: 0, reason: '' });
  const part = await getJson<VerifyWire>(`${base}api/verify?fromSeq=3&toSeq=9`);
  assert.equal(part.body.ok, true);
  const head = await getJson<HeadWire>(`${base}api/head`);
  assert.equal(head.body.seq, events.at(-1)!.seq);
});

test('bad input is a 400 with a JSON error naming the parameter', async () => {
  const bad = async (path: string, field: string): Promise<void> => {
    const r = await getJson<ErrorWire>(`${base}${path}`);
    assert.equal(r.status, 400, path);
    assert.equal(r.body.error.code, 'INVALID_ARGUMENT', path);
    assert.equal(r.body.error.field, field, path);
  };
  await bad('api/state-at?at=yesterday', 'at');
  await bad('api/state-at?at=1&since=soon', 'since');
  await bad('api/state-at?at=1&colour=red', 'colour');
  await bad('api/state-at?at=1&at=2', 'at');
  await bad('api/diff?from=9&to=3', 'to');
  await bad('api/timeline?id=bad%2Fid', 'id');
  await bad('api/timeline', 'id');
  await bad('api/audit?limit=lots', 'limit');
  await bad('api/audit?outcome=maybe', 'outcome');
  await bad('api/verify?fromSeq=-1', 'fromSeq');
  await bad('api/events?from=x', 'from');
  const missing = await getJson<ErrorWire>(`${base}api/nothing`);
  assert.equal(missing.status, 404);
  const post = await fetch(`${base}api/head`, { method: 'POST' });
  assert.equal(post.status, 405);
});

test('events: catch up from a seq, follow live, resume after Last-Event-ID', async () => {
  const abort = new AbortController();
  try {
    const all: LiveEventWire[] = [];
    for await (const m of sse(`${base}api/events?from=1&follow=0`, { signal: abort.signal })) {
      if (m.event === 'end') break;
      assert.equal(m.event, 'event');
      const w = JSON.parse(m.data) as LiveEventWire;
      assert.equal(m.id, String(w.event.seq));
      all.push(w);
    }
    assert.deepEqual(
      all.map((w) => w.event.seq),
      events.map((e) => e.seq),
    );
    const overview = (await getJson<OverviewMessage>(`${base}api/overview`)).body;
    assert.deepEqual(
      all.flatMap((w) => w.marks.map((m) => [w.event.seq, m.code, m.exitCode])),
      overview.marks.map((m) => [m[0], m[3], m[4]]),
      'the stream marks what the overview draws',
    );
    // Resume: Last-Event-ID wins over from.
    const resumed: number[] = [];
    for await (const m of sse(`${base}api/events?from=1&follow=0`, { headers: { 'last-event-id': String(events.length - 3) }, signal: abort.signal })) {
      if (m.event === 'end') break;
      resumed.push((JSON.parse(m.data) as LiveEventWire).event.seq);
    }
    assert.deepEqual(resumed, [events.length - 2, events.length - 1, events.length]);
    // Live: from the head on, a container created now arrives with its mark and labels.
    const live = sse(`${base}api/events?from=${events.length + 1}`, { signal: abort.signal });
    const first = live.next();
    await call(d.client('Containers'), 'Create', { id: 'c4', ...sleeper, labels: { live: 'yes' } });
    const next = await first;
    assert.ok(!next.done);
    const got = JSON.parse(next.value.data) as LiveEventWire;
    assert.equal(got.event.seq, events.length + 1);
    assert.equal(got.event.type, 'ContainerCreated');
    assert.deepEqual(got.marks, [{ code: 'created', exitCode: null }]);
    assert.deepEqual(got.labels, { live: 'yes' });
    // Filtered by container: only c4's events.
    const onlyC4: string[] = [];
    for await (const m of sse(`${base}api/events?from=1&id=c4&follow=0`, { signal: abort.signal })) {
      if (m.event === 'end') break;
      onlyC4.push((JSON.parse(m.data) as LiveEventWire).event.id);
    }
    assert.ok(onlyC4.length >= 1 && onlyC4.every((id) => id === 'c4'));
  } finally {
    abort.abort();
  }
});

test('the page and its assets are served by the daemon, with a strict CSP', async () => {
  const r = await fetch(base);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.match(await r.text(), /<html/);
});

/** A GET with a Host header of our choosing (fetch does not allow setting it). */
function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('without a token: loopback only, and a foreign Host header is refused', async () => {
  assert.equal(await getWithHost(`${base}api/head`, 'localhost'), 200);
  assert.equal(await getWithHost(`${base}api/head`, 'evil.example:80'), 403, 'DNS rebinding');
  const other = mkdtempSync(join(tmpdir(), 'chr-web-nl-'));
  try {
    const refused = await startDaemon({ dir: other, args: ['--http', '0.0.0.0:0'], waitReady: false });
    started.push(refused);
    assert.equal(await new Promise((r) => refused.child.once('exit', r)), 2, 'a non-loopback bind without a token is a config error');
    assert.match(refused.output(), /INVALID_ARGUMENT: invalid config\.httpToken/);
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});

test('with a token: every API call needs it, on any interface', async () => {
  const other = mkdtempSync(join(tmpdir(), 'chr-web-t-'));
  const token = 'a-long-enough-secret-token-42';
  const cfg = join(other, 'chronicled.json');
  writeFileSync(cfg, JSON.stringify({ httpToken: token }));
  const t = await startDaemon({ dir: other, args: ['--shim-pool', '0', '--http', '0.0.0.0:0', '--config', cfg] });
  started.push(t);
  const url = await webUrl(t);
  assert.equal((await fetch(`${url}api/head`)).status, 401);
  assert.equal((await fetch(`${url}api/head`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status, 401);
  assert.equal((await fetch(`${url}api/head`, { headers: { authorization: `Basic ${token}` } })).status, 401);
  assert.equal((await fetch(`${url}api/events?from=1&follow=0`)).status, 401);
  const ok = await getJson<HeadWire>(`${url}api/head`, { authorization: `Bearer ${token}` });
  assert.equal(ok.status, 200);
  assert.ok(ok.body.seq >= 1);
  assert.equal(await getWithHost(`${url}api/head`, 'evil.example'), 401, 'the token, not the Host header, decides');
  assert.equal((await fetch(url)).status, 200, 'the page itself holds no data');
  await t.cleanup();
  rmSync(other, { recursive: true, force: true });
});
