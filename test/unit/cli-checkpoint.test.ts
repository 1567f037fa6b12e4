import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkpointRow, CHECKPOINT_HEADERS } from '../../src/cli/commands/checkpoint.js';

const cp = { checkpointId: 'c1', namespace: 'default', containerId: 'web', imagePath: '/x', bytes: 150_000, digest: 'ab', leftRunning: false, paused: false, durationMs: 12, parent: '', createdAt: 1_000, seq: 7 };

test('checkpoints table: one row per checkpoint, sizes in KiB/MiB, what became of the task', () => {
  assert.equal(CHECKPOINT_HEADERS.length, checkpointRow(cp, 61_000).length);
  assert.deepEqual(checkpointRow(cp, 61_000), ['c1', 'web', '146.5 KiB', 'stopped', '-', '1m ago']);
  assert.deepEqual(checkpointRow({ ...cp, bytes: 3 << 20, leftRunning: true, paused: true, parent: 'c0' }, 61_000).slice(2, 5), ['3.0 MiB', 'left paused', 'c0']);
});
