// stdin given to the shim as a FIFO (what containerd clients make) or a file: copied into
// the process's stdin pipe; a FIFO's keep-alive writer holds EOF back until CloseIO, as
// containerd's shim does, so a client that closes its writer early does not end the input.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, openSync, closeSync, writeSync, readFileSync, writeFileSync, constants } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { harness, waitFor, type Harness } from '../support/shim-harness.js';

let h: Harness;
before(() => {
  h = harness();
});
after(async () => h.cleanup());

test('stdin from a FIFO: the process sees EOF only after the client closed and CloseIO came', async () => {
  const s = await h.spawn('in-fifo');
  const dir = h.bundle('in-fifo');
  mkdirSync(dir, { recursive: true });
  const fifo = join(dir, 'stdin');
  execFileSync('mkfifo', [fifo]);
  const out = join(dir, 'out.log');
  await s.client.create({ id: 'i', bundle: dir, runtime: 'process', args: ['/bin/cat'], stdin: fifo, stdout: out });
  await s.client.start('i');
  // The shim's keep-alive holds the FIFO open, so this write-open does not block.
  const w = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  writeSync(w, 'line one\n');
  closeSync(w);
  await waitFor(() => readFileSync(out, 'utf8') === 'line one\n', 10_000, 'the copied input');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await s.client.state('i')).status, 'running', 'no EOF while the keep-alive is open');
  await s.client.closeIO('i');
  assert.equal((await s.client.wait('i', '', 10_000)).exitCode, 0);
  assert.equal(readFileSync(out, 'utf8'), 'line one\n');
  await s.client.delete('i');
});

test('stdin from a regular file is read to its end', async () => {
  const s = await h.spawn('in-file');
  const dir = h.bundle('in-file');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'input'), 'from a file\n');
  const out = join(dir, 'out.log');
  await s.client.create({ id: 'f', bundle: dir, runtime: 'process', args: ['/bin/cat'], stdin: join(dir, 'input'), stdout: out });
  await s.client.start('f');
  assert.equal((await s.client.wait('f', '', 10_000)).exitCode, 0);
  assert.equal(readFileSync(out, 'utf8'), 'from a file\n');
  await s.client.delete('f');
});
