// Pure parts of History: how points in time are read, and what a diff reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePoint } from '../../src/api/point.js';
import { isChronicleError } from '../../src/errors.js';
import { diffStates } from '../../src/projections/index.js';
import * as f from '../support/facts.js';
import { given } from '../support/given.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

test('points: seqs, RFC 3339 times, durations ago, and the head', () => {
  assert.deepEqual(parsePoint('', NOW, 'at'), { kind: 'head' });
  assert.deepEqual(parsePoint('42', NOW, 'at'), { kind: 'seq', seq: 42 });
  assert.deepEqual(parsePoint('2026-11-22T11:00:00Z', NOW, 'at'), { kind: 'time', ts: NOW - 3_600_000 });
  assert.deepEqual(parsePoint('2026-11-22T13:00:00.250+02:00', NOW, 'at'), { kind: 'time', ts: NOW - 3_600_000 + 250 });
  assert.deepEqual(parsePoint('10m', NOW, 'at'), { kind: 'time', ts: NOW - 600_000 });
  assert.deepEqual(parsePoint('1.5h', NOW, 'at'), { kind: 'time', ts: NOW - 5_400_000 });
  assert.deepEqual(parsePoint('2d', NOW, 'at'), { kind: 'time', ts: NOW - 172_800_000 });
  for (const bad of ['yesterday', '-3', '10x', '2026-11-22', '2026-13-45T99:00:00Z', '1e3']) {
    assert.throws(
      () => parsePoint(bad, NOW, 'since'),
      (e: unknown) => isChronicleError(e) && e.code === 'INVALID_ARGUMENT' && e.details['field'] === 'since',
      bad,
    );
  }
});

test('diff: created, deleted, transitions, exits and labels, by container', async () => {
  const a = await given(f.containerCreated('gone'), f.containerCreated('run'), f.taskCreated('run'), f.taskStarted('run'), f.containerCreated('lab', { labels: { x: '1' } }));
  const b = await given(
    f.containerCreated('gone'),
    f.containerCreated('run'),
    f.taskCreated('run'),
    f.taskStarted('run'),
    f.containerCreated('lab', { labels: { x: '1' } }),
    f.containerDeleted('gone'),
    f.taskExited('run', 137),
    f.containerUpdated('lab', { y: '2' }),
    f.containerCreated('new'),
  );
  assert.deepEqual(
    diffStates(a, b).map((c) => [c.id, c.kind, c.fromStatus, c.toStatus, c.exitCode, c.detail]),
    [
      ['gone', 'deleted', '', '', null, ''],
      ['lab', 'labels', '', '', null, '-x,y=2'],
      ['new', 'created', '', '', null, ''],
      ['run', 'exited', 'running', 'exited', 137, 'killed'],
    ],
  );
  assert.deepEqual(diffStates(b, b), [], 'no change, no diff');
});
