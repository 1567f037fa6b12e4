// bench:restart's probe floor is only a lower bound if it really gets PID() answers: run it
// against real shims and a socket nobody listens on, and compare the pids it read with theirs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { harness, type Harness } from '../support/shim-harness.js';

const PROBE_FLOOR = fileURLToPath(new URL('../../bench/support/probe-floor.cjs', import.meta.url));

let h: Harness;
before(() => {
  h = harness();
});
after(async () => {
  await h.cleanup();
});

test('the probe floor reads each live shim pid through PID() and counts a dead socket as unverified', async () => {
  const shims = [await h.spawn('floor-a'), await h.spawn('floor-b')];
  const missing = join(h.stateDir, 'nobody.sock');
  const { stdout } = await promisify(execFile)(process.execPath, [PROBE_FLOOR, shims[0]!.address, missing, shims[1]!.address]);
  assert.deepEqual(stdout.split('\n'), ['verified: 2', `pids: ${shims[0]!.pid} 0 ${shims[1]!.pid}`, '']);
});
