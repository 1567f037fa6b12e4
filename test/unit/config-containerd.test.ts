// The containerd API listener is off by default and set by flag, environment or file; a
// relative path is INVALID_ARGUMENT naming the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import type { ChronicleError } from '../../src/errors.js';

const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/home/u' };

test('--containerd-socket: off by default, from the flag or CHRONICLE_CONTAINERD_SOCKET', () => {
  assert.equal(loadConfig({ argv: [], env, uid: 0 }).containerdSocket, undefined);
  assert.equal(loadConfig({ argv: ['--containerd-socket', '/run/c/containerd.sock'], env, uid: 0 }).containerdSocket, '/run/c/containerd.sock');
  assert.equal(loadConfig({ argv: [], env: { ...env, CHRONICLE_CONTAINERD_SOCKET: '/run/x.sock' }, uid: 0 }).containerdSocket, '/run/x.sock');
  assert.throws(
    () => loadConfig({ argv: ['--containerd-socket', 'relative.sock'], env, uid: 0 }),
    (e: ChronicleError) => e.code === 'INVALID_ARGUMENT' && e.details['field'] === 'config.containerdSocket',
  );
});
