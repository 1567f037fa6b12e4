// A real chronicled: the Containers/Events/Daemon services, bad input, audit records,
// the socket's mode, and a clean stop.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, statSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, readEvents, startDaemon, type CallError, type RunningDaemon } from '../support/daemon.js';

let d: RunningDaemon;
let fixtures: string;
before(async () => {
  fixtures = mkdtempSync(join(tmpdir(), 'chr-fx-'));
  mkdirSync(join(fixtures, 'rootfs'));
  mkdirSync(join(fixtures, 'bundle'));
  writeFileSync(join(fixtures, 'bundle', 'config.json'), '{}');
  d = await startDaemon();
});
after(async () => {
  await d?.cleanup();
  rmSync(fixtures, { recursive: true, force: true });
});

const good = () => ({ id: 'ok1', runtime: 'process', args: ['/bin/true'], env: [], labels: {} });

async function expectInvalid(req: Record<string, unknown>, field: string, ns?: string): Promise<void> {
  await assert.rejects(call(d.client('Containers'), 'Create', req, ns), (e: CallError) => {
    assert.equal(e.grpcCode, 3, `INVALID_ARGUMENT for ${field}`);
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.equal(e.field, field);
    return true;
  });
}

describe('chronicled containers', () => {
  test('the socket is mode 0600, renamed into place (no temporary name left)', () => {
    assert.equal(statSync(d.socket).mode & 0o777, 0o600);
    assert.equal(existsSync(`${d.socket}.tmp`), false);
  });

  test('create, get, list by label, update, delete; events in order with audit records', async () => {
    const C = d.client('Containers');
    const head0 = (await call<{ seq: number }>(d.client('Events'), 'Head', {})).seq;
    const c1 = await call<{ createdAt: number; updatedAt: number; labels: Record<string, string> }>(C, 'Create', { ...good(), id: 'c1', labels: { app: 'web' } });
    await call(C, 'Create', { ...good(), id: 'c2', runtime: 'runc', rootfs: join(fixtures, 'rootfs'), args: ['/bin/sh'], labels: { app: 'db' } });
    const got = await call<{ id: string; labels: Record<string, string>; bundle: string }>(C, 'Get', { id: 'c2' });
    assert.equal(got.id, 'c2');
    statSync(join(got.bundle, 'config.json')); // the daemon wrote the OCI spec
    const web = await call<{ containers: { id: string }[] }>(C, 'List', { labelFilters: ['app=web'] });
    assert.deepEqual(web.containers.map((c) => c.id), ['c1']);
    const updated = await call<{ createdAt: number; updatedAt: number; labels: Record<string, string> }>(C, 'Update', { id: 'c1', labels: { app: 'api' } });
    assert.deepEqual(updated.labels, { app: 'api' });
    assert.deepEqual((await call<{ labels: Record<string, string> }>(C, 'Get', { id: 'c1' })).labels, { app: 'api' });
    await call(C, 'Delete', { id: 'c1' });
    await call(C, 'Delete', { id: 'c2' });
    await assert.rejects(call(C, 'Get', { id: 'c1' }), (e: CallError) => e.code === 'CONTAINER_NOT_FOUND' && e.grpcCode === 5);
    const events = await readEvents(d, head0 + 1);
    const facts = events.filter((e) => !e.type.startsWith('Request')).map((e) => `${e.type}:${e.id}`);
    assert.deepEqual(facts, ['ContainerCreated:c1', 'ContainerCreated:c2', 'ContainerUpdated:c1', 'ContainerDeleted:c1', 'ContainerDeleted:c2']);
    assert.equal(events.filter((e) => e.type === 'RequestCompleted').length, 5);
    for (let i = 1; i < events.length; i++) assert.equal(events[i]!.seq, events[i - 1]!.seq + 1);
    // Replies show what the log says: the times are those of the committed events.
    const tsOf = (type: string): number => Number((events.find((e) => e.type === type && e.id === 'c1') as unknown as { ts: number }).ts);
    assert.equal(Number(c1.createdAt), tsOf('ContainerCreated'));
    assert.equal(Number(updated.updatedAt), tsOf('ContainerUpdated'));
    assert.equal(Number(updated.createdAt), Number(c1.createdAt));
  });

  test('namespaces keep containers apart', async () => {
    const C = d.client('Containers');
    await call(C, 'Create', { ...good(), id: 'same' }, 'ns-a');
    await call(C, 'Create', { ...good(), id: 'same' }, 'ns-b');
    assert.equal((await call<{ containers: unknown[] }>(C, 'List', { labelFilters: [] }, 'ns-a')).containers.length, 1);
    await assert.rejects(call(C, 'Create', { ...good(), id: 'same' }, 'ns-a'), (e: CallError) => e.code === 'CONTAINER_EXISTS' && e.grpcCode === 6);
  });

  const long = 'x'.repeat(5000);
  const bad: [string, Record<string, unknown>, string][] = [
    ['empty id', { id: '' }, 'id'],
    ['id with ..', { id: '../etc' }, 'id'],
    ['id with /', { id: 'a/b' }, 'id'],
    ['id starting with -', { id: '-x' }, 'id'],
    ['id with space', { id: 'a b' }, 'id'],
    ['id too long', { id: 'a'.repeat(77) }, 'id'],
    ['id with NUL', { id: 'a\u0000b' }, 'id'],
    ['unknown runtime', { runtime: 'kata' }, 'runtime'],
    ['relative bundle', { bundle: 'bundle', args: [] }, 'bundle'],
    ['bundle with ..', { bundle: '/tmp/../etc', args: [] }, 'bundle'],
    ['bundle with //', { bundle: '/tmp//x', args: [] }, 'bundle'],
    ['bundle with trailing /', { bundle: '/tmp/x/', args: [] }, 'bundle'],
    ['relative rootfs', { runtime: 'runc', rootfs: 'rootfs' }, 'rootfs'],
    ['rootfs with ..', { runtime: 'runc', rootfs: '/a/../b' }, 'rootfs'],
    ['bundle and rootfs', { runtime: 'runc', bundle: '/b', rootfs: '/r' }, 'rootfs'],
    ['runc without bundle or rootfs', { runtime: 'runc' }, 'rootfs'],
    ['missing command', { args: [] }, 'args'],
    ['too many args', { args: Array.from({ length: 300 }, () => 'a') }, 'args'],
    ['oversized arg', { args: [long] }, 'args.0'],
    ['env without =', { env: ['NOVALUE'] }, 'env.0'],
    ['env with bad name', { env: ['1A=b'] }, 'env.0'],
    ['oversized env', { env: [`A=${'x'.repeat(40_000)}`] }, 'env.0'],
    ['too many env vars', { env: Array.from({ length: 600 }, (_, i) => `V${i}=1`) }, 'env'],
    ['relative cwd', { cwd: 'tmp' }, 'cwd'],
    ['cwd with ..', { cwd: '/a/../..' }, 'cwd'],
    ['label key with space', { labels: { 'a b': 'c' } }, 'labels.a b'],
    ['oversized label value', { labels: { a: long } }, 'labels.a'],
    ['too many labels', { labels: Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, 'v'])) }, 'labels'],
    ['oversized label key', { labels: { ['k'.repeat(300)]: 'v' } }, `labels.${'k'.repeat(300)}`],
    ['bundle without config.json', { bundle: '/nonexistent-bundle-dir', args: [] }, 'bundle'],
    ['rootfs that does not exist', { runtime: 'runc', rootfs: '/nonexistent-rootfs-dir' }, 'rootfs'],
  ];

  test(`${bad.length} bad requests: INVALID_ARGUMENT naming the field; only audit records appended`, async () => {
    const head0 = (await call<{ seq: number }>(d.client('Events'), 'Head', {})).seq;
    for (const [name, over, field] of bad) {
      await expectInvalid({ ...good(), ...over }, field).catch((e: unknown) => assert.fail(`${name}: ${String(e)}`));
    }
    await expectInvalid(good(), 'chronicle-namespace', 'bad namespace!');
    const events = await readEvents(d, head0 + 1);
    assert.equal(events.length, bad.length + 1);
    assert.ok(events.every((e) => e.type === 'RequestFailed'));
    assert.ok(events.every((e) => (JSON.parse(e.dataJson) as { code: string }).code === 'INVALID_ARGUMENT'));
    assert.equal((await call<{ containers: unknown[] }>(d.client('Containers'), 'List', { labelFilters: [] })).containers.length, 0);
  });

  test('refusals leave RequestDenied', async () => {
    const head0 = (await call<{ seq: number }>(d.client('Events'), 'Head', {})).seq;
    await assert.rejects(call(d.client('Containers'), 'Delete', { id: 'ghost' }), (e: CallError) => e.code === 'CONTAINER_NOT_FOUND');
    const events = await readEvents(d, head0 + 1);
    assert.deepEqual(events.map((e) => e.type), ['RequestDenied']);
  });

  test('Info and a clean stop with DaemonStopped', async () => {
    const info = await call<{ pid: number; headSeq: number; root: string }>(d.client('Daemon'), 'Info', {});
    assert.equal(info.pid, d.child.pid);
    assert.equal(info.root, d.root);
    assert.equal(await d.stop('SIGTERM'), 0);
    const again = await startDaemon({ dir: join(d.root, '..') });
    try {
      const events = await readEvents(again, info.headSeq + 1);
      assert.deepEqual(events.slice(0, 2).map((e) => e.type), ['DaemonStopped', 'DaemonStarted']);
      // The projection came back from the log: namespaced containers survive the restart.
      assert.equal((await call<{ containers: unknown[] }>(again.client('Containers'), 'List', { labelFilters: [] }, 'ns-a')).containers.length, 1);
    } finally {
      await again.cleanup();
    }
  });
});
