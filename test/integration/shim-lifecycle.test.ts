// The full lifecycle through a real shim, under real runc and under the process runtime.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { ChronicleError } from '../../src/errors.js';
import type { ShimClient } from '../../src/shim/index.js';
import { makeBundle } from '../support/busybox-bundle.js';
import { alive, harness, waitFor, zombiesOf, type Harness } from '../support/shim-harness.js';

const COUNTER = 'i=0; while true; do i=$((i+1)); echo $i > $F; sleep 0.05; done';

async function counterStops(file: string): Promise<void> {
  const a = readFileSync(file, 'utf8');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(readFileSync(file, 'utf8'), a, 'the counter moved while paused');
}

async function counterMoves(file: string): Promise<void> {
  const a = readFileSync(file, 'utf8');
  await waitFor(() => readFileSync(file, 'utf8') !== a, 20_000, 'the counter to move');
}

const code = (e: unknown): string => (e as ChronicleError).code;

for (const runtime of ['runc', 'process'] as const) {
  describe(`shim lifecycle (${runtime})`, () => {
    // Each test gets its own shim: a shim exits once it hosts nothing more.
    let h: Harness;
    let client: ShimClient;
    let shimPid: number;
    let n = 0;
    before(() => {
      h = harness();
    });
    beforeEach(async () => {
      const s = await h.spawn(`life-${runtime}-${n++}`);
      client = s.client;
      shimPid = s.pid;
    });
    after(async () => h.cleanup());

    /** A bundle (runc) or a bundle dir plus host command (process) running `script`. */
    function container(name: string, script: string): { bundle: string; args: string[]; counter: string } {
      const hostDir = join(h.dir, `host-${name}`);
      mkdirSync(hostDir, { recursive: true });
      const bundle = h.bundle(name);
      if (runtime === 'runc') {
        makeBundle(bundle, { args: ['/bin/sh', '-c', script], env: ['F=/host/counter'], hostDir });
        return { bundle, args: [], counter: join(hostDir, 'counter') };
      }
      mkdirSync(bundle, { recursive: true });
      return { bundle, args: ['/bin/sh', '-c', script.replaceAll('$F', join(hostDir, 'counter'))], counter: join(hostDir, 'counter') };
    }

    test('create, start, state, pids, pause, resume, exec, kill, wait, delete', async () => {
      const c = container('main', COUNTER);
      const created = await client.create({ id: 'main', bundle: c.bundle, runtime, args: c.args });
      assert.ok(created.pid > 0);
      assert.equal((await client.state('main')).status, 'created');
      assert.equal((await client.start('main')).status, 'running');
      await waitFor(() => statSync(c.counter, { throwIfNoEntry: false }) !== undefined, 20_000, 'the counter file');
      assert.ok((await client.pids('main')).includes(created.pid));
      assert.equal((await client.pause('main')).status, 'paused');
      await counterStops(c.counter);
      assert.equal((await client.resume('main')).status, 'running');
      await counterMoves(c.counter);
      const x = await client.exec('main', 'x1', ['/bin/sh', '-c', 'echo exec-says-hi; exit 4']);
      const xExit = await client.wait('main', 'x1', 30_000);
      assert.equal(xExit.exitCode, 4);
      assert.equal(readFileSync(x.stdout, 'utf8').trim(), 'exec-says-hi');
      const stats = await client.stats('main');
      assert.ok(stats.pids >= 1, 'stats count the container processes');
      assert.ok(stats.memoryBytes > 0, 'stats read memory');
      // The cgroup counts CPU in ns; /proc counts 10 ms ticks, which a sleeping loop may not reach.
      if (runtime === 'runc') assert.ok(stats.cpuUsageNs > 0, 'stats read the cgroup cpu usage');
      assert.equal((await client.state('main', 'x1')).status, 'stopped', 'exec-scoped state');
      await client.kill('main', 9, { all: true });
      const exit = await client.wait('main', '', 30_000);
      assert.equal(exit.exitCode, 137);
      assert.equal((await client.state('main')).status, 'stopped');
      assert.deepEqual(await client.delete('main').then((e) => e.exitCode), 137);
    });

    test('wait reports 0 for true and 3 for exit 3; stdout is captured in the bundle', async () => {
      const t = container('t', 'true');
      const three = container('three', 'echo out; echo err >&2; exit 3');
      await client.create({ id: 't', bundle: t.bundle, runtime, args: runtime === 'runc' ? [] : ['/bin/true'] });
      await client.create({ id: 'three', bundle: three.bundle, runtime, args: three.args });
      await client.start('t');
      await client.start('three');
      assert.equal((await client.wait('t', '', 30_000)).exitCode, 0);
      assert.equal((await client.wait('three', '', 30_000)).exitCode, 3);
      assert.equal(readFileSync(join(three.bundle, 'stdout.log'), 'utf8').trim(), 'out');
      assert.equal(readFileSync(join(three.bundle, 'stderr.log'), 'utf8').trim(), 'err');
      await client.delete('t');
      await client.delete('three');
    });

    test('refusals: FAILED_PRECONDITION, NOT_FOUND, INVALID_ARGUMENT naming the field', async () => {
      const c = container('r', 'sleep 30');
      await client.create({ id: 'r', bundle: c.bundle, runtime, args: c.args });
      await client.start('r');
      await assert.rejects(client.start('r'), (e) => code(e) === 'FAILED_PRECONDITION');
      await assert.rejects(client.resume('r'), (e) => code(e) === 'FAILED_PRECONDITION');
      await assert.rejects(client.delete('r'), (e) => code(e) === 'FAILED_PRECONDITION');
      await assert.rejects(client.shutdown(false), (e) => code(e) === 'FAILED_PRECONDITION');
      await assert.rejects(client.start('nope'), (e) => code(e) === 'NOT_FOUND');
      await assert.rejects(client.create({ id: 'r', bundle: c.bundle, runtime, args: c.args }), (e) => code(e) === 'ALREADY_EXISTS');
      await assert.rejects(client.create({ id: '../evil', bundle: c.bundle, runtime }), (e) => code(e) === 'INVALID_ARGUMENT' && (e as ChronicleError).details['field'] === 'id');
      await assert.rejects(client.create({ id: 'rel', bundle: 'relative', runtime }), (e) => code(e) === 'INVALID_ARGUMENT' && (e as ChronicleError).details['field'] === 'bundle');
      await assert.rejects(client.kill('r', 99), (e) => code(e) === 'INVALID_ARGUMENT' && (e as ChronicleError).details['field'] === 'signal');
      // process: no CRIU support; runc: this CRIU does not exist (and the task keeps running).
      const cp = { id: 'r', imagePath: join(c.bundle, 'cp/image'), workPath: join(c.bundle, 'cp/work'), leaveRunning: false, criu: '/nonexistent/criu' };
      await assert.rejects(client.checkpoint(cp), (e) => code(e) === (runtime === 'runc' ? 'RUNTIME_FAILED' : 'FAILED_PRECONDITION'));
      assert.equal((await client.state('r')).status, 'running');
      await client.kill('r', 9);
      await client.wait('r', '', 30_000);
      await assert.rejects(client.pause('r'), (e) => code(e) === 'FAILED_PRECONDITION');
      await client.delete('r');
      assert.equal((await client.pid()).pid, shimPid, 'no input took the shim down');
    });

    test('no zombie is left under the shim', async () => {
      const c = container('z', 'sleep 0.1 & sleep 0.1 & exit 0');
      await client.create({ id: 'z', bundle: c.bundle, runtime, args: c.args });
      await client.create({ id: 'keep', bundle: container('keep', 'sleep 30').bundle, runtime, args: container('keep2', 'sleep 30').args });
      await client.start('z');
      await client.wait('z', '', 30_000);
      await new Promise((r) => setTimeout(r, 500));
      await waitFor(() => zombiesOf(shimPid).length === 0, 20_000, 'zombies to be reaped');
      await client.delete('z');
      await client.kill('keep', 9);
      await client.wait('keep', '', 30_000);
      await client.delete('keep');
      await waitFor(() => !alive(shimPid), 20_000, 'the empty shim to exit');
    });
  });
}
