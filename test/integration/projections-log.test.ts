// The projection over a real LevelDB log: snapshots, stateAt and a full fold agree.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { EventLog, type Envelope } from '../../src/events/index.js';
import { decodeSnapshot, encodeSnapshot, fold, initialState, loadState, Projector, stateAt, stateAtTime } from '../../src/projections/index.js';
import * as f from '../support/facts.js';

const ids = ['a', 'b', 'c'];
const lifecycle = (id: string) => [f.containerCreated(id), f.taskCreated(id), f.taskStarted(id), f.taskPaused(id), f.taskResumed(id), f.taskExited(id, 3), f.taskDeleted(id), f.containerDeleted(id)];
/** A random valid history: interleaved lifecycles, each possibly cut short. */
const history = fc.array(fc.tuple(fc.constantFrom(...ids), fc.nat({ max: 8 })), { minLength: 1, maxLength: 6 }).map((runs) => {
  const queues = runs.map(([id, n], i) => lifecycle(`${id}${i}`).slice(0, n));
  const out = [];
  while (queues.some((q) => q.length > 0)) for (const q of queues) if (q.length) out.push(q.shift()!);
  return out;
}).filter((facts) => facts.length > 0);

test('fold(all) == snapshot + fold(rest) == stateAt(head), and stateAt(k) == fold(first k)', async () => {
  await fc.assert(
    fc.asyncProperty(history, fc.nat(), fc.integer({ min: 2, max: 9 }), async (facts, pick, every) => {
      const dir = mkdtempSync(join(tmpdir(), 'chronicle-proj-'));
      try {
        const log = await EventLog.open({ path: dir });
        const projector = new Projector(log, { snapshotEvery: every });
        await projector.start();
        const committed: Envelope[] = [];
        for (let i = 0; i < facts.length; i += 3) committed.push(...(await log.append(facts.slice(i, i + 3))));
        const whole = fold(initialState(), committed);
        assert.deepEqual(projector.state, whole);
        await projector.flush();
        const k = 1 + (pick % committed.length);
        const prefix = fold(initialState(), committed.slice(0, k));
        assert.deepEqual(fold(decodeSnapshot(encodeSnapshot(prefix)), committed.slice(k)), whole);
        assert.deepEqual(await stateAt(log, log.head().seq), whole);
        assert.deepEqual(await stateAt(log, k), prefix);
        assert.deepEqual(await stateAtTime(log, committed[k - 1]!.ts), fold(initialState(), committed.filter((e) => e.ts <= committed[k - 1]!.ts)));
        await projector.close();
        const loaded = await loadState(log);
        assert.deepEqual(loaded.state, whole);
        assert.equal(loaded.snapshotSeq, log.head().seq, 'close() snapshots the head');
        assert.equal(loaded.replayed, 0);
        await log.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 30 },
  );
});

test('a damaged snapshot is skipped: stateAt folds from the log instead', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chronicle-proj-'));
  try {
    const log = await EventLog.open({ path: dir });
    const events = await log.append(lifecycle('z').slice(0, 4));
    await log.putSnapshot(2, Buffer.from('not a snapshot'));
    assert.deepEqual(await stateAt(log, 4), fold(initialState(), events));
    await log.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
