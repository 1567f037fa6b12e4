// OOM facts, Shutdown (refused while containers live, forced), the socket going away with the
// shim, a per-Create runtime binary and root, and no input taking the shim down.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { isChronicleError } from '../../src/errors.js';
import type { ShimClient, ShimFactMessage } from '../../src/shim/index.js';
import { makeBundle } from '../support/busybox-bundle.js';
import { alive, harness, waitFor, type Harness } from '../support/shim-harness.js';

let h: Harness;
before(() => {
  h = harness();
});
after(async () => h.cleanup());

async function collectUntil(client: ShimClient, after: number, done: (f: ShimFactMessage) => boolean, ms: number): Promise<ShimFactMessage[]> {
  const out: ShimFactMessage[] = [];
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  try {
    for await (const f of client.events(after, abort.signal)) {
      out.push(f);
      if (done(f)) break;
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return out;
}

test('an OOM kill is reported as an oom fact, before the exit it caused (137)', async () => {
  const s = await h.spawn('oom');
  const bundle = makeBundle(h.bundle('oom'), { args: ['/bin/tail', '/dev/zero'], memoryLimitBytes: 16 << 20 });
  const { pid } = await s.client.create({ id: 'hog', bundle, runtime: 'runc' });
  const facts = collectUntil(s.client, 0, (f) => f.type === 'exit', 30_000);
  await s.client.start('hog');
  const got = await facts;
  assert.deepEqual(
    got.map((f) => [f.type, f.containerId, f.pid]),
    [
      ['oom', 'hog', pid],
      ['exit', 'hog', pid],
    ],
  );
  assert.equal(got[1]?.exitCode, 137);
  assert.equal(got[1]?.signal, 'SIGKILL');
  await s.client.delete('hog');
});

test('Shutdown is refused while a container lives; forced, it kills them, exits and removes its socket', async () => {
  const s = await h.spawn('shutdown');
  const bundle = makeBundle(h.bundle('shut-runc'), { args: ['/bin/sleep', '1000'] });
  const a = await s.client.create({ id: 'a', bundle, runtime: 'runc' });
  await s.client.start('a');
  const pdir = h.bundle('shut-proc');
  mkdirSync(pdir, { recursive: true });
  const b = await s.client.create({ id: 'b', bundle: pdir, runtime: 'process', args: ['/bin/sleep', '1000'] });
  await s.client.start('b');
  await assert.rejects(s.client.shutdown(false), (e) => isChronicleError(e) && e.code === 'FAILED_PRECONDITION');
  assert.ok(existsSync(s.address));
  await s.client.shutdown(true);
  await waitFor(() => !alive(s.pid), 20_000, 'the shim to exit');
  assert.equal(existsSync(s.address), false, 'the socket is gone');
  assert.equal(alive(a.pid), false, 'the runc container was killed');
  assert.equal(alive(b.pid), false, 'the process container was killed');
});

test('the last Delete makes the shim exit and remove its socket', async () => {
  const s = await h.spawn('last');
  const dir = h.bundle('last');
  mkdirSync(dir, { recursive: true });
  await s.client.create({ id: 'only', bundle: dir, runtime: 'process', args: ['/bin/true'] });
  await s.client.start('only');
  assert.equal((await s.client.wait('only', '', 30_000)).exitCode, 0);
  assert.equal((await s.client.delete('only')).exitCode, 0);
  await waitFor(() => !alive(s.pid), 20_000, 'the shim to exit');
  assert.equal(existsSync(s.address), false);
});

test('Create may name its own runc-compatible binary and --root', async () => {
  const s = await h.spawn('custom-root');
  const root = join(h.dir, 'other-runc-root');
  const bundle = makeBundle(h.bundle('custom'), { args: ['/bin/sh', '-c', 'exit 5'] });
  h.trackRuncRoot(root);
  await s.client.create({ id: 'c', bundle, runtime: 'runc', runtimeBinary: 'runc', runcRoot: root });
  assert.ok(existsSync(join(root, 'c', 'state.json')), 'runc kept its state under the given root');
  await s.client.start('c');
  assert.equal((await s.client.wait('c', '', 30_000)).exitCode, 5);
  await s.client.delete('c');
  assert.equal(existsSync(join(root, 'c')), false);
  await assert.rejects(s.client.create({ id: 'd', bundle, runtime: 'runc', runtimeBinary: 'no such binary' }), (e) => isChronicleError(e) && e.code === 'INVALID_ARGUMENT' && e.details['field'] === 'runtimeBinary');
  await assert.rejects(s.client.create({ id: 'd', bundle, runtime: 'runc', runtimeBinary: '/nonexistent/runc' }), (e) => isChronicleError(e) && e.code === 'FAILED_PRECONDITION');
});

test('no input crashes the shim: random requests get INVALID_ARGUMENT, NOT_FOUND or FAILED_PRECONDITION', async () => {
  const s = await h.spawn('fuzz');
  const sandbox = h.bundle('fuzz');
  mkdirSync(sandbox, { recursive: true });
  // Two real containers: `live` may be hit by any request but exec (which would run a random
  // host command); `keep` is never named, so the shim always hosts something.
  for (const id of ['live', 'keep']) {
    await s.client.create({ id, bundle: sandbox, runtime: 'process', args: ['/bin/sleep', '1000'], stdout: join(sandbox, `${id}.out`), stderr: join(sandbox, `${id}.err`) });
    await s.client.start(id);
  }
  // Some well-formed values, so that requests also get past validation. No bundle is an
  // existing directory: a Create that succeeded would run a random command.
  const id = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('x', 'a.b', 'ok-1', '', '..', 'a/b', 'live')).filter((i) => i !== 'keep');
  const path = fc
    .oneof(fc.string({ maxLength: 40 }), fc.constantFrom('', 'rel', `${sandbox}/missing`, `${sandbox}/../x`, '/dev/null/x', '/tmp\0x'))
    .filter((p) => !existsSync(p) || !statSync(p).isDirectory());
  const strs = fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('A=b', '=x', 'nul\0')), { maxLength: 4 });
  const u32 = fc.oneof(fc.nat(), fc.constantFrom(0, 1, 9, 15, 64, 65, 4294967295));
  const calls = fc.oneof(
    fc.record({ m: fc.constant('create' as const), id, bundle: path, runtime: fc.constantFrom('runc', 'process', '', 'crun'), args: strs, env: strs, cwd: path, stdout: path, runcRoot: path }),
    fc.record({ m: fc.constantFrom('start', 'state', 'pids', 'pause', 'resume', 'wait', 'delete', 'checkpoint', 'stats', 'logs' as const), id, execId: id }),
    fc.record({ m: fc.constant('kill' as const), id, signal: u32, all: fc.boolean(), execId: id }),
    fc.record({ m: fc.constant('exec' as const), id: id.filter((i) => i !== 'live'), execId: id, args: strs, env: strs, cwd: path }),
  );
  const allowed = new Set(['INVALID_ARGUMENT', 'NOT_FOUND', 'FAILED_PRECONDITION', 'ALREADY_EXISTS']);
  await fc.assert(
    fc.asyncProperty(calls, async (c) => {
      const r = (() => {
        switch (c.m) {
          case 'create':
            // A random but valid id must not meet a real bundle: the sandbox has no config.json.
            return s.client.create({ id: c.id, bundle: c.bundle, runtime: c.runtime as 'runc', args: c.args, env: c.env, cwd: c.cwd, stdout: c.stdout, runcRoot: c.runcRoot });
          case 'kill':
            return s.client.kill(c.id, c.signal, { all: c.all, execId: c.execId });
          case 'exec':
            return s.client.exec(c.id, c.execId, c.args, { env: c.env, cwd: c.cwd });
          case 'state':
            return s.client.state(c.id, c.execId);
          case 'wait':
            // `live` never exits by itself: its Wait ends at the deadline.
            return s.client.wait(c.id, c.execId, 300);
          case 'checkpoint':
            // `live` runs on the process runtime: refused whatever the paths.
            return s.client.checkpoint({ id: c.id, imagePath: `${sandbox}/cp/image`, workPath: `${sandbox}/cp/work`, leaveRunning: true, criu: '/nonexistent/criu' });
          case 'logs':
            return (async () => {
              for await (const chunk of s.client.logs(c.id, { execId: c.execId })) void chunk;
            })();
          default:
            return s.client[c.m](c.id);
        }
      })();
      try {
        await r;
      } catch (e) {
        const ok = isChronicleError(e) && (allowed.has(e.code) || (c.m === 'wait' && e.code === 'DEADLINE_EXCEEDED'));
        assert.ok(ok, `${c.m} answered ${isChronicleError(e) ? e.code : String(e)}`);
      }
    }),
    { numRuns: 300 },
  );
  assert.equal((await s.client.pid()).pid, s.pid, 'the shim still serves');
  const log = readFileSync(s.address.replace(/\.sock$/, '.log'), 'utf8');
  assert.doesNotMatch(log, /"msg":"(uncaught|unhandled rejection|internal error)"/);
});
