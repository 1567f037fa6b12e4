import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exitStatus, normalizeSignal, signalName, signalNumber } from '../../src/cli/signals.js';

test('signal names and numbers normalise to SIG names', () => {
  assert.equal(normalizeSignal('KILL'), 'SIGKILL');
  assert.equal(normalizeSignal('sigterm'), 'SIGTERM');
  assert.equal(normalizeSignal('SIGUSR1'), 'SIGUSR1');
  assert.equal(normalizeSignal('9'), 'SIGKILL');
  assert.equal(normalizeSignal('15'), 'SIGTERM');
  assert.equal(normalizeSignal('40'), '40', 'a real-time signal has no name: sent as its number');
  for (const bad of ['NOPE', 'SIG', '0', '65', '', '-9']) assert.equal(normalizeSignal(bad), undefined, bad);
});

test('numbers and names round-trip', () => {
  assert.equal(signalNumber('SIGKILL'), 9);
  assert.equal(signalNumber('HUP'), 1);
  assert.equal(signalNumber('12'), 12);
  assert.equal(signalName(15), 'SIGTERM');
  assert.equal(signalName(6), 'SIGABRT');
});

test('exit status: the code, or 128+n for a signalled process', () => {
  assert.equal(exitStatus(3, ''), 3);
  assert.equal(exitStatus(0, 'SIGKILL'), 137);
  assert.equal(exitStatus(137, 'SIGKILL'), 137);
  assert.equal(exitStatus(256 + 4, ''), 4);
});
