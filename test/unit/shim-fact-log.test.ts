// The shim's fact log: replay from `after`, then live, never a duplicate; Delete forgets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FactLog, type ShimFact } from '../../src/shim/fact-log.js';

const exit = (containerId: string, exitCode = 0): Omit<ShimFact, 'shimSeq'> => ({ containerId, type: 'exit', pid: 100, exitCode, signal: '', exitedAt: 1, execId: '' });

async function take(log: FactLog, after: number, n: number, signal: AbortSignal): Promise<number[]> {
  const out: number[] = [];
  if (n === 0) return out;
  for await (const f of log.follow(after, signal)) {
    out.push(f.shimSeq);
    if (out.length >= n) break;
  }
  return out;
}

test('facts are numbered 1, 2, 3… and replayed after `after`', async () => {
  const log = new FactLog();
  for (const id of ['a', 'b', 'c']) log.append(exit(id));
  const abort = new AbortController();
  assert.deepEqual(await take(log, 0, 3, abort.signal), [1, 2, 3]);
  assert.deepEqual(await take(log, 2, 1, abort.signal), [3]);
});

test('replay then live, with facts appended while the reader is between them: each once, in order', async () => {
  await fc.assert(
    fc.asyncProperty(fc.nat(20), fc.nat(20), fc.nat(25), async (before, live, afterRaw) => {
      const log = new FactLog();
      for (let i = 0; i < before; i++) log.append(exit(`c${i}`));
      const after = Math.min(afterRaw, before);
      const abort = new AbortController();
      const got = take(log, after, before - after + live, abort.signal);
      for (let i = 0; i < live; i++) {
        log.append(exit(`l${i}`));
        if (i % 3 === 0) await new Promise((r) => setImmediate(r));
      }
      const seqs = await got;
      abort.abort();
      assert.deepEqual(seqs, Array.from({ length: before - after + live }, (_, i) => after + 1 + i));
    }),
    { numRuns: 100 },
  );
});

test('an aborted follow ends; forget drops a deleted container\'s facts but keeps numbering', async () => {
  const log = new FactLog();
  log.append(exit('a'));
  log.append(exit('b'));
  log.forget('a');
  const abort = new AbortController();
  const seen: string[] = [];
  const done = (async () => {
    for await (const f of log.follow(0, abort.signal)) seen.push(`${f.shimSeq}:${f.containerId}`);
  })();
  await new Promise((r) => setImmediate(r));
  assert.equal(log.append(exit('c')).shimSeq, 3);
  await new Promise((r) => setImmediate(r));
  abort.abort();
  await done;
  assert.deepEqual(seen, ['2:b', '3:c']);
});
