// The shim outlives whoever spawned it, keeps exits that happen while nobody listens, and
// hands each over exactly once; one shim hosts many containers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { ShimClient, type ShimFactMessage } from '../../src/shim/index.js';
import { makeBundle } from '../support/busybox-bundle.js';
import { alive, harness, waitFor, zombiesOf, type Harness } from '../support/shim-harness.js';

const CHILD = fileURLToPath(new URL('../support/shim-spawner-child.js', import.meta.url));

let h: Harness;
before(() => {
  h = harness();
});
after(async () => h.cleanup());

/** Reads facts after `after` until `count` arrived or `ms` passed. */
async function collect(client: ShimClient, after: number, count: number, ms: number): Promise<ShimFactMessage[]> {
  const out: ShimFactMessage[] = [];
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  try {
    for await (const f of client.events(after, abort.signal)) {
      out.push(f);
      if (out.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return out;
}

test('SIGKILL of the spawner leaves shim and container running; the exit is handed over once', async () => {
  const bundle = makeBundle(h.bundle('survivor'), { args: ['/bin/sleep', '1000'] });
  const child = spawn(process.execPath, [CHILD, h.stateDir, h.runcRoot, bundle], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (b: Buffer) => {
      buf += b.toString();
      if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`spawner exited ${code}`)));
  });
  const made = JSON.parse(line) as { address: string; shimPid: number; containerPid: number };
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  try {
    assert.ok(alive(made.shimPid), 'the shim survived its spawner');
    assert.ok(alive(made.containerPid), 'the container survived its spawner');

    const client = new ShimClient(made.address);
    const probe = await client.pid();
    assert.equal(probe.pid, made.shimPid);
    assert.deepEqual(
      probe.tasks.map((t) => [t.id, t.pid, t.status]),
      [['c1', made.containerPid, 'running']],
      'the probe reports every hosted task, as recovery needs',
    );
    assert.equal((await client.state('c1')).status, 'running');
    client.close();

    // Nobody is connected while the container dies.
    const killedAt = Date.now();
    process.kill(made.containerPid, 'SIGKILL');
    await waitFor(() => zombiesOf(made.shimPid).length === 0 && !alive(made.containerPid), 20_000, 'the init to be reaped');
    await new Promise((r) => setTimeout(r, 300));

    const again = new ShimClient(made.address);
    const facts = await collect(again, 0, 2, 1500);
    assert.equal(facts.length, 1, 'exactly one fact');
    const exit = facts[0]!;
    assert.equal(exit.type, 'exit');
    assert.equal(exit.containerId, 'c1');
    assert.equal(exit.exitCode, 137);
    assert.equal(exit.signal, 'SIGKILL');
    assert.ok(exit.exitedAt >= killedAt - 5 && exit.exitedAt <= Date.now(), 'the real exit time');
    assert.deepEqual(await collect(again, exit.shimSeq, 1, 500), [], 'nothing again after its shimSeq');
    await again.delete('c1');
    again.close();
    await waitFor(() => !alive(made.shimPid), 20_000, 'the empty shim to exit');
  } finally {
    for (const pid of [made.containerPid, made.shimPid]) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
});

test('one shim hosting 20 containers reports each exit once, with its id and code', async () => {
  const s = await h.spawn('group20');
  const expected = new Map<string, number>();
  // 18 runc containers (the last two of them killed with SIGKILL while the others exit) and 2
  // process ones, created and started concurrently, so exits and runc calls overlap.
  const ids = Array.from({ length: 20 }, (_, i) => `g${i}`);
  await Promise.all(
    ids.map(async (id, i) => {
      const bundle = h.bundle(`group-${id}`);
      const killed = i === 16 || i === 17;
      const script = killed ? 'sleep 100' : `sleep 0.3; exit ${10 + i}`;
      expected.set(id, killed ? 137 : 10 + i);
      if (i < 18) {
        makeBundle(bundle, { args: ['/bin/sh', '-c', script] });
        await s.client.create({ id, bundle, runtime: 'runc' });
      } else {
        mkdirSync(bundle, { recursive: true });
        await s.client.create({ id, bundle, runtime: 'process', args: ['/bin/sh', '-c', script] });
      }
    }),
  );
  const facts = collect(s.client, 0, 20, 30_000);
  await Promise.all(ids.map((id) => s.client.start(id)));
  await Promise.all(['g16', 'g17'].map((id) => s.client.kill(id, 9)));
  const got = await facts;
  assert.equal(got.length, 20);
  const seen = new Map(got.map((f) => [f.containerId, f.exitCode]));
  assert.equal(seen.size, 20, 'each container once');
  assert.deepEqual(seen, expected);
  assert.deepEqual(got.map((f) => f.shimSeq), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.deepEqual(await collect(s.client, 20, 1, 300), []);
  assert.deepEqual(zombiesOf(s.pid), []);
  for (const id of expected.keys()) await s.client.delete(id);
  await waitFor(() => !alive(s.pid), 20_000, 'the empty shim to exit');
});
