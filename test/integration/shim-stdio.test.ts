// stdout/stderr: files in the bundle by default, readable and followable through the shim;
// or FIFOs given in Create.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeBundle } from '../support/busybox-bundle.js';
import { harness, type Harness } from '../support/shim-harness.js';

let h: Harness;
before(() => {
  h = harness();
});
after(async () => h.cleanup());

test('Logs follows a container until it exits and returns everything it wrote', async () => {
  const s = await h.spawn('logs');
  const bundle = h.bundle('logs');
  makeBundle(bundle, { args: ['/bin/sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; echo err$i >&2; sleep 0.1; done'] });
  await s.client.create({ id: 'l', bundle, runtime: 'runc' });
  await s.client.start('l');
  let out = '';
  let err = '';
  for await (const c of s.client.logs('l', { follow: true })) {
    if (c.stream === 'stdout') out += c.data.toString();
    else err += c.data.toString();
  }
  assert.equal(out, 'line1\nline2\nline3\nline4\nline5\n');
  assert.equal(err, 'err1\nerr2\nerr3\nerr4\nerr5\n');
  let again = '';
  for await (const c of s.client.logs('l', { stream: 'stdout' })) again += c.data.toString();
  assert.equal(again, out, 'a finished log reads back whole');
  await s.client.delete('l');
});

test('stdout to a named FIFO given in Create', async () => {
  const s = await h.spawn('fifo');
  const dir = h.bundle('fifo');
  mkdirSync(dir, { recursive: true });
  const fifo = join(dir, 'out.fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = createReadStream(fifo);
  let got = '';
  reader.on('data', (b) => (got += b.toString()));
  await s.client.create({ id: 'f', bundle: dir, runtime: 'process', args: ['/bin/sh', '-c', 'echo through-the-fifo'], stdout: fifo });
  await s.client.start('f');
  assert.equal((await s.client.wait('f', '', 30_000)).exitCode, 0);
  const deadline = Date.now() + 5000;
  while (!got.includes('through-the-fifo') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(got, 'through-the-fifo\n');
  reader.destroy();
  await s.client.delete('f');
});
