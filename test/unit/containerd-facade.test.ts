// The containerd facade's pure parts: containerd's filter syntax, the hand-written protobuf
// encoder (checked against bytes recorded from a real containerd), and the facts it adds to
// the projection (namespaces, containerd's two-step exec and DeleteProcess).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchesAny, parseFilters } from '../../src/api/containerd/filters.js';
import { checkpointOptions } from '../../src/api/containerd/requests.js';
import { ProtoWriter, readFields, timestamp } from '../../src/api/containerd/wire.js';
import { decide } from '../../src/projections/decide.js';
import { fold } from '../../src/projections/evolve.js';
import { initialState } from '../../src/projections/state.js';
import type { Envelope, Fact } from '../../src/events/schemas.js';

const env = (fields: Record<string, string>) => (path: readonly string[]) => fields[path.join('.')];

test('filters: == != ~= and presence; selectors AND, filters OR; quotes', () => {
  const f = parseFilters(['topic=="/tasks/exit",namespace==default', 'topic~="^/containers/"']);
  assert.equal(matchesAny(f, env({ topic: '/tasks/exit', namespace: 'default' })), true);
  assert.equal(matchesAny(f, env({ topic: '/tasks/exit', namespace: 'other' })), false);
  assert.equal(matchesAny(f, env({ topic: '/containers/create', namespace: 'other' })), true);
  assert.equal(matchesAny(parseFilters(['labels."a.b"==x']), env({ 'labels.a.b': 'x' })), true);
  assert.equal(matchesAny(parseFilters(['labels.app']), env({ 'labels.app': 'web' })), true);
  assert.equal(matchesAny(parseFilters(['id!=c1']), env({ id: 'c1' })), false);
  assert.equal(matchesAny(parseFilters([]), env({})), true);
  assert.throws(() => parseFilters(['topic=="/tasks']), (e: { code?: string }) => e.code === 'INVALID_ARGUMENT');
});

test('ProtoWriter: the bytes a real containerd sent for TaskExecAdded and TaskExecStarted', () => {
  // From containerd-api-traces/exec.txt: "\n\002c1\022\002e1" and "\n\002c1\022\002e1\030\276\242\001".
  assert.deepEqual(new ProtoWriter().string(1, 'c1').string(2, 'e1').finish(), Buffer.from('\n\x02c1\x12\x02e1', 'latin1'));
  assert.deepEqual(new ProtoWriter().string(1, 'c1').string(2, 'e1').uint(3, 20798).finish(), Buffer.from('\n\x02c1\x12\x02e1\x18\xbe\xa2\x01', 'latin1'));
  // Defaults are left out; a set sub-message is sent even when empty.
  assert.equal(new ProtoWriter().uint(1, 0).string(2, '').bool(3, false).finish().length, 0);
  assert.deepEqual(new ProtoWriter().message(2, new ProtoWriter()).finish(), Buffer.from([0x12, 0x00]));
  // uint64 past 2^53 (cgroup limits) encodes as 10 bytes at most.
  assert.equal(new ProtoWriter().uint(1, 0xffffffffffffffffn).finish().length, 11);
  assert.deepEqual(timestamp(1_500), { seconds: 1, nanos: 500_000_000 });
});

let seq = 0;
function commit(facts: Fact[]): Envelope[] {
  return facts.map((f) => ({ ...f, seq: ++seq, ts: 1000 + seq, v: 1, prev: '', hash: '' }));
}
const actor = 'containerd-api:uid:0';

test('namespaces: created, listed in the state, deleted', () => {
  let s = fold(initialState(), commit([{ type: 'NamespaceCreated', ns: 'foo', id: '', actor, data: { labels: { team: 'blue' } } }]));
  assert.deepEqual(s.namespaces['foo']?.labels, { team: 'blue' });
  s = fold(s, commit([{ type: 'NamespaceDeleted', ns: 'foo', id: '', actor, data: {} }]));
  assert.equal(s.namespaces['foo'], undefined);
});

test("containerd's exec: Exec adds, Start runs (StartExec), DeleteProcess removes an exited one (ExecDeleted)", () => {
  let s = fold(
    initialState(),
    commit([
      { type: 'ContainerCreated', ns: 'n', id: 'c', actor, data: { runtime: 'runc', bundle: '/b', args: ['sleep'], env: [], cwd: '/', labels: {} } },
      { type: 'TaskCreated', ns: 'n', id: 'c', actor, data: { pid: 10, shim: { address: '/s', pid: 9 }, bundle: '/b', stdio: { stdout: '', stderr: '' } } },
      { type: 'TaskStarted', ns: 'n', id: 'c', actor, data: { pid: 10 } },
      { type: 'ExecAdded', ns: 'n', id: 'c', actor, data: { execId: 'x', args: ['echo'] } },
    ]),
  );
  assert.equal(decide(s, { type: 'StartExec', ns: 'n', id: 'c', execId: 'x' }).ok, true);
  assert.equal(decide(s, { type: 'StartExec', ns: 'n', id: 'c', execId: 'nope' }).ok, false);
  s = fold(s, commit([{ type: 'ExecStarted', ns: 'n', id: 'c', actor, data: { execId: 'x', pid: 11 } }]));
  const running = decide(s, { type: 'DeleteExec', ns: 'n', id: 'c', execId: 'x' });
  assert.equal(running.ok ? 'ok' : running.error.code, 'TASK_STATE');
  s = fold(s, commit([{ type: 'ExecExited', ns: 'n', id: 'c', actor: 'shim', data: { execId: 'x', pid: 11, exitCode: 5, exitedAt: 2000 } }]));
  const d = decide(s, { type: 'DeleteExec', ns: 'n', id: 'c', execId: 'x' }, actor);
  assert.ok(d.ok);
  assert.deepEqual(
    d.facts.map((f) => f.type),
    ['ExecDeleted'],
  );
  s = fold(s, commit(d.facts));
  assert.equal(s.containers['n/c']?.task?.execs['x'], undefined);
  assert.equal(decide(s, { type: 'ExecProcess', ns: 'n', id: 'c', execId: 'x' }).ok, true, 'the id may be used again');
});

test('CheckpointOptions as ctr sends them (1 exit, 8 image_path, 9 work_path); bad paths named', () => {
  const value = new ProtoWriter().bool(1, true).string(8, '/ckpt/img').string(9, '/ckpt/work').finish();
  assert.deepEqual(checkpointOptions({ type_url: 'containerd.runc.v1.CheckpointOptions', value }), { exit: true, imagePath: '/ckpt/img', workPath: '/ckpt/work' });
  assert.deepEqual(checkpointOptions(null), { exit: false, imagePath: '', workPath: '' });
  const rel = new ProtoWriter().string(8, 'relative').finish();
  assert.throws(() => checkpointOptions({ type_url: 'containerd.runc.v1.CheckpointOptions', value: rel }), (e: { details?: { field?: string } }) => e.details?.field === 'options.imagePath');
  assert.throws(() => checkpointOptions({ type_url: 'x', value: Buffer.alloc(0) }), (e: { details?: { field?: string } }) => e.details?.field === 'options.type_url');
  assert.throws(() => readFields(Buffer.from([0x42, 0x05, 0x61])), RangeError);
});
