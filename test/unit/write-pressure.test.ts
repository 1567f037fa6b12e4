// The local writer's commit rate, as fleet export reads it to step aside during bursts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WritePressure } from '../../src/fleet/write-pressure.js';

const T0 = 1_800_000_000_000;

test('a burst of commits makes the writer busy; a trickle does not', () => {
  const p = new WritePressure(2000);
  // 300 events/s for a second: a node starting a few dozen containers.
  for (let ms = 0; ms < 1000; ms += 10) p.committed(T0 + ms, 3);
  assert.ok(Math.abs(p.rate(T0 + 999) - 300) < 40, `rate ${p.rate(T0 + 999)}`);
  assert.equal(p.busy(T0 + 1000), false);
  // 40,000 events/s for 200 ms.
  for (let ms = 1000; ms < 1200; ms++) p.committed(T0 + ms, 40);
  assert.equal(p.busy(T0 + 1199), true);
});

test('the writer counts as idle again once the burst has left the window', () => {
  const p = new WritePressure(2000);
  for (let ms = 0; ms < 500; ms++) p.committed(T0 + ms, 20);
  assert.equal(p.busy(T0 + 500), true);
  assert.equal(p.busy(T0 + 650), true, 'the last 300 ms still hold commits');
  assert.equal(p.busy(T0 + 900), false);
  assert.equal(p.rate(T0 + 60_000), 0, 'a long silence empties every bucket');
});
