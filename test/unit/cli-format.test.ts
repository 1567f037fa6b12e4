import assert from 'node:assert/strict';
import { test } from 'node:test';
import { psRow, psTable, PS_HEADERS } from '../../src/cli/commands/container.js';
import { eventJson, eventLine, nextBackoff, retryable } from '../../src/cli/commands/events.js';
import { infoText } from '../../src/cli/commands/info.js';
import { createRequest } from '../../src/cli/commands/run.js';
import { daemonArgs } from '../../src/cli/commands/daemon.js';
import { UsageError } from '../../src/cli/args.js';
import { UnreachableError } from '../../src/cli/client.js';
import type { Container, Event, InfoReply, Task } from '../../src/cli/messages.js';
import { ago, isoTime, keyValues, table } from '../../src/cli/table.js';
import { ChronicleError } from '../../src/errors.js';

const now = Date.parse('2025-01-02T03:04:05Z');

function task(over: Partial<Task> = {}): Task {
  return {
    id: 'c1', namespace: 'default', status: 'running', pid: 4242, exitCode: 0, exitSignal: '', exitedAt: 0, exitReason: '',
    shimAddress: '/run/s.sock', shimPid: 1, stdout: '', stderr: '', startedAt: now - 1_000, restoredFrom: '', ...over,
  };
}

function container(id: string, over: Partial<Container> = {}): Container {
  return { id, namespace: 'default', runtime: 'process', bundle: '/b', rootfs: '', args: ['true'], env: [], cwd: '/', labels: {}, createdAt: now - 5_000, updatedAt: now - 5_000, ...over };
}

test('table: columns padded to the widest cell, two spaces apart, no trailing blanks', () => {
  const t = table(['ID', 'STATUS', 'PID'], [
    ['a', 'running', '1'],
    ['longer-id', 'exited', ''],
  ]);
  assert.equal(t, 'ID         STATUS   PID\na          running  1\nlonger-id  exited\n');
  assert.equal(table(['A', 'B'], []), 'A  B\n');
});

test('ago and isoTime', () => {
  assert.equal(ago(now - 12_000, now), '12s ago');
  assert.equal(ago(now - 5 * 60_000, now), '5m ago');
  assert.equal(ago(now - 3 * 3_600_000, now), '3h ago');
  assert.equal(ago(now - 2 * 86_400_000, now), '2d ago');
  assert.equal(ago(now + 5_000, now), '0s ago');
  assert.equal(ago(0, now), '-');
  assert.equal(isoTime(now), '2025-01-02T03:04:05.000Z');
  assert.equal(isoTime(0), '-');
  assert.equal(keyValues([['a', '1'], ['long key', '2']]), 'a:         1\nlong key:  2\n');
});

test('ps rows: status, pid, runtime, exit (with signal), created', () => {
  assert.deepEqual(psRow(container('c1', { task: task() }), now), ['c1', 'running', '4242', 'process', '-', '5s ago']);
  assert.deepEqual(psRow(container('c2'), now), ['c2', 'no task', '-', 'process', '-', '5s ago']);
  assert.deepEqual(psRow(container('c3', { runtime: 'runc', task: task({ status: 'exited', exitCode: 3 }) }), now), ['c3', 'exited', '4242', 'runc', '3', '5s ago']);
  assert.deepEqual(psRow(container('c4', { task: task({ status: 'exited', exitCode: 137, exitSignal: 'SIGKILL' }) }), now)[4], '137 (SIGKILL)');
  const lines = psTable([container('b', { createdAt: now - 1_000 }), container('a', { createdAt: now - 9_000 })], now).trimEnd().split('\n');
  assert.deepEqual(lines[0]!.split(/\s+/), [...PS_HEADERS]);
  assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]), ['a', 'b'], 'oldest first');
});

test('event lines: every field, dashes for empty ones; JSON lines parse with data', () => {
  const e: Event = { seq: 7, ts: now, namespace: 'default', id: 'c1', type: 'TaskExited', version: 1, dataJson: '{"exitCode":3}', actor: 'root', req: 'r1', shimSeq: 2, prev: 'p', hash: 'h' };
  assert.equal(eventLine(e), '7 2025-01-02T03:04:05.000Z default c1 TaskExited root {"exitCode":3}\n');
  assert.equal(eventLine({ ...e, namespace: '', id: '', actor: '', dataJson: '' }), '7 2025-01-02T03:04:05.000Z - - TaskExited - {}\n');
  const j = JSON.parse(eventJson(e)) as Record<string, unknown>;
  assert.deepEqual(j['data'], { exitCode: 3 });
  assert.equal(j['seq'], 7);
  assert.equal(j['time'], '2025-01-02T03:04:05.000Z');
  assert.equal('dataJson' in j, false);
  assert.equal(eventJson(e).endsWith('\n'), true);
  assert.equal(eventJson(e).trimEnd().includes('\n'), false, 'one line per event');
});

test('events --follow: what is retried, and the backoff up to 1 s', () => {
  assert.equal(retryable(new UnreachableError('/s')), true);
  assert.equal(retryable(new ChronicleError('UNAVAILABLE', 'recovering')), true);
  assert.equal(retryable(new ChronicleError('INVALID_ARGUMENT', 'bad filter')), false);
  assert.equal(retryable(new Error('x')), false);
  const seq: number[] = [];
  for (let b = 0, i = 0; i < 8; i++) seq.push((b = nextBackoff(b)));
  assert.deepEqual(seq, [50, 100, 200, 400, 800, 1000, 1000, 1000]);
});

test('info text: daemon fields and the last recovery figures', () => {
  const info: InfoReply = {
    version: '0.1.0', pid: 10, root: '/r', state: '/s', socket: '/s/c.sock', defaultRuntime: 'runc', headSeq: 99, containers: 3, tasksRunning: 1,
    lastRecoveryJson: JSON.stringify({ replayed: 40, snapshotSeq: 0, alive: 1, lost: 2, reconciled: 0, durations: { replay: 12 } }),
  };
  const kv = Object.fromEntries(infoText(info).trimEnd().split('\n').map((l) => l.split(/:\s+/, 2) as [string, string]));
  assert.equal(kv['head seq'], '99');
  assert.equal(kv['recovery replayed'], '40');
  assert.equal(kv['recovery lost'], '2');
  assert.equal(kv['recovery replay'], '12 ms');
  const none = infoText({ ...info, lastRecoveryJson: '' });
  assert.match(none, /last recovery:\s+none/);
});

test('create request: absolute paths, env list, labels, runtime checked', () => {
  const r = createRequest({ rootfs: 'rootfs', env: ['A=1', 'A=2'], label: ['k=v'], cwd: '/w', runtime: 'runc' }, 'c1', ['sh', '-c', 'x'], '/home/u');
  assert.deepEqual(r, { id: 'c1', runtime: 'runc', bundle: '', rootfs: '/home/u/rootfs', args: ['sh', '-c', 'x'], env: ['A=1', 'A=2'], cwd: '/w', labels: { k: 'v' } });
  assert.equal(createRequest({ bundle: '/b' }, 'c1', []).bundle, '/b', 'a bundle carries its own process');
  const isUsage = (e: unknown) => e instanceof UsageError;
  assert.throws(() => createRequest({ rootfs: '/r', bundle: '/b' }, 'c1', ['x']), isUsage);
  assert.throws(() => createRequest({ runtime: 'docker' }, 'c1', ['x']), isUsage);
  assert.throws(() => createRequest({}, 'c1', []), isUsage);
  assert.throws(() => createRequest({ env: ['NOEQ'] }, 'c1', ['x']), isUsage);
});

test('daemon args: passed verbatim; a --socket given to chronicle is forwarded once', () => {
  assert.deepEqual(daemonArgs(undefined, ['--root', '/r']), ['--root', '/r']);
  assert.deepEqual(daemonArgs('/s.sock', ['--root', '/r']), ['--socket', '/s.sock', '--root', '/r']);
  assert.deepEqual(daemonArgs('/s.sock', ['--socket=/t.sock']), ['--socket=/t.sock']);
});
