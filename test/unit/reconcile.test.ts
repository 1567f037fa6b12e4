import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reconcile } from '../../src/replay/reconcile.js';

test('reconcile appends what the log lacks to reach the shim\'s status', () => {
  assert.deepEqual(reconcile('created', 'running'), ['TaskStarted']);
  assert.deepEqual(reconcile('created', 'paused'), ['TaskStarted', 'TaskPaused']);
  assert.deepEqual(reconcile('running', 'paused'), ['TaskPaused']);
  assert.deepEqual(reconcile('paused', 'running'), ['TaskResumed']);
  for (const same of ['created', 'running', 'paused'] as const) assert.deepEqual(reconcile(same, same), []);
  // Exits are not guessed from a status: they come from the shim's Events with their time.
  assert.deepEqual(reconcile('running', 'stopped'), []);
});
