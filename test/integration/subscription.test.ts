// Subscriptions over a real LevelDB log: catch up from the log, follow the live bus, fall
// back to the log past the buffer; every subscriber sees each seq from its start exactly
// once, in order, however appends and slow consumers interleave.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { EventLog, subscribe, type Envelope, type EventLogOptions, type Fact, type SubscribeOptions } from '../../src/events/index.js';

function started(id: string, pid: number, ns = 'default'): Fact {
  return { type: 'TaskStarted', ns, id, actor: 'test', data: { pid } };
}

function exited(id: string, pid: number, ns = 'default'): Fact {
  return { type: 'TaskExited', ns, id, actor: 'shim', data: { pid, exitCode: 0, signal: null, exitedAt: 0, reason: 'exited' } };
}

function paused(id: string, ns = 'default'): Fact {
  return { type: 'TaskPaused', ns, id, actor: 'test', data: {} };
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const seqs = (events: readonly Envelope[]): number[] => events.map((e) => e.seq);

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'chronicle-sub-'));
}

async function openTemp(t: TestContext, opts: Omit<EventLogOptions, 'path'> = {}): Promise<EventLog> {
  const dir = await tempDir();
  const holder: { log?: EventLog } = {};
  t.after(async () => {
    await holder.log?.close();
    await rm(dir, { recursive: true, force: true });
  });
  holder.log = await EventLog.open({ path: dir, ...opts });
  return holder.log;
}

async function collect(it: AsyncIterable<Envelope>): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** Pulls from a following subscription until it has delivered `n` events. */
async function take(it: AsyncIterator<Envelope>, n: number): Promise<Envelope[]> {
  const out: Envelope[] = [];
  while (out.length < n) {
    const r = await it.next();
    assert.equal(r.done, false, `subscription ended after ${out.length} of ${n} events`);
    if (!r.done) out.push(r.value);
  }
  return out;
}

function isAbort(e: unknown): boolean {
  assert.ok(e instanceof Error, `expected an Error, got ${String(e)}`);
  assert.equal(e.name, 'AbortError');
  return true;
}

// --- the property ------------------------------------------------------------------------

type Op =
  | { k: 'append'; size: number; wait: boolean }
  | { k: 'tick'; ms: number }
  | { k: 'pause'; ms: number }
  | { k: 'sub'; byTime: boolean; rel: number; slow: boolean; bufferSize: number | undefined; delays: number[] };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('append' as const), size: fc.integer({ min: 1, max: 12 }), wait: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 3 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('sub' as const),
      byTime: fc.boolean(),
      // fromSeq = head + rel (before head, at head+1, beyond); fromTime = now + 5 * rel.
      rel: fc.oneof(fc.integer({ min: -40, max: 1 }), fc.integer({ min: 2, max: 8 })),
      slow: fc.boolean(),
      bufferSize: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
      delays: fc.array(fc.constantFrom(0, 0, 1, 2), { minLength: 1, maxLength: 4 }),
    }),
  },
);

interface Consumer {
  start: { fromSeq: number } | { fromTime: number };
  seen: number[];
  done: Promise<void>;
  ac: AbortController;
  /** Resolves once the consumer has seen `target` (checked after each event). */
  reached: (target: number) => Promise<void>;
}

function startConsumer(log: EventLog, op: Extract<Op, { k: 'sub' }>, now: number, target: { seq?: number }): Consumer {
  const start = op.byTime ? { fromTime: now + 5 * op.rel } : { fromSeq: log.head().seq + op.rel };
  const ac = new AbortController();
  const seen: number[] = [];
  let wake: (() => void) | undefined;
  const opts: SubscribeOptions = { ...start, signal: ac.signal, ...(op.bufferSize !== undefined ? { bufferSize: op.bufferSize } : {}) };
  let finished = false;
  const done = (async () => {
    try {
      let i = 0;
      for await (const e of subscribe(log, opts)) {
        seen.push(e.seq);
        wake?.();
        if (op.slow) await sleep(op.delays[i++ % op.delays.length]);
        if (target.seq !== undefined && e.seq >= target.seq) break;
      }
    } catch (e) {
      if (!ac.signal.aborted) throw e;
      isAbort(e);
    } finally {
      finished = true;
    }
  })();
  const reached = async (t: number): Promise<void> => {
    const deadline = Date.now() + 15_000; // a liveness bound, not a timing assertion
    while ((seen.at(-1) ?? 0) < t) {
      if (finished) throw new Error(`subscriber ${JSON.stringify(start)} ended at ${seen.at(-1) ?? 'nothing'} (target ${t})`);
      if (Date.now() > deadline) throw new Error(`subscriber ${JSON.stringify(start)} stuck at ${seen.at(-1) ?? 'nothing'} (target ${t})`);
      await Promise.race([new Promise<void>((r) => (wake = r)), sleep(50), done]);
    }
  };
  return { start, seen, done, ac, reached };
}

async function runScenario(prefill: number, ops: readonly Op[]): Promise<void> {
  const dir = await tempDir();
  let now = 1_000_000;
  const log = await EventLog.open({ path: dir, clock: () => now });
  const consumers: Consumer[] = [];
  try {
    let pid = 0;
    const mk = (n: number): Fact[] => Array.from({ length: n }, () => started(`c${pid % 5}`, pid++));
    for (let i = 0; i < prefill; i++) {
      await log.append(mk(1 + (i % 4)));
      now += 3;
    }
    const target: { seq?: number } = {};
    const pending: Array<Promise<unknown>> = [];
    for (const op of ops) {
      switch (op.k) {
        case 'append': {
          const p = log.append(mk(op.size));
          if (op.wait) await p;
          else pending.push(p);
          break;
        }
        case 'tick':
          now += op.ms;
          break;
        case 'pause':
          await sleep(op.ms);
          break;
        case 'sub':
          consumers.push(startConsumer(log, op, now, target));
          break;
      }
    }
    await Promise.all(pending);
    const final = await collect(log.read());
    const head = log.head().seq;
    assert.deepEqual(seqs(final), range(1, head));
    target.seq = head;

    const expected = consumers.map((c) => ('fromSeq' in c.start ? range(Math.max(1, c.start.fromSeq), head) : seqs(final.filter((e) => e.ts >= (c.start as { fromTime: number }).fromTime))));
    await Promise.all(consumers.map((c, i) => (expected[i]!.length > 0 ? c.reached(head) : Promise.resolve())));
    for (const c of consumers) c.ac.abort();
    await Promise.all(consumers.map((c) => c.done));
    consumers.forEach((c, i) => assert.deepEqual(c.seen, expected[i], `subscriber ${i} ${JSON.stringify(c.start)} (head ${head})`));
  } finally {
    for (const c of consumers) c.ac.abort();
    await Promise.allSettled(consumers.map((c) => c.done));
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('subscribe: exactly once, in order', () => {
  test('random appends and subscribers (slow ones overflowing tiny buffers) each see every seq from their start, once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 12 }), fc.array(opArb, { minLength: 4, maxLength: 30 }), (prefill, ops) => runScenario(prefill, ops)),
      // Bounded so the file stays well under 30 s on a busy machine.
      { numRuns: 80, interruptAfterTimeLimit: 20_000 },
    );
  });

  test('a slow subscriber with a buffer of 5 keeps up through heavy concurrent appends', async (t) => {
    const log = await openTemp(t);
    await log.append(Array.from({ length: 50 }, (_, i) => started('c1', i)));
    const sub = subscribe(log, { fromSeq: 10, bufferSize: 5 });
    const first = await take(sub, 1);
    const appends = Promise.all(Array.from({ length: 64 }, (_, a) => log.append([started(`c${a}`, a), started(`c${a}`, a + 1)])));
    const rest: Envelope[] = [];
    for (let i = 0; i < 50 - 10 + 128; i++) {
      rest.push(...(await take(sub, 1)));
      if (i % 7 === 0) await sleep(1);
    }
    await appends;
    assert.deepEqual(seqs([...first, ...rest]), range(10, 50 + 128));
    await sub.return(undefined);
  });
});

describe('subscribe: options', () => {
  test('follow:false stops at the head as of the call', async (t) => {
    const log = await openTemp(t);
    await log.append(Array.from({ length: 10 }, (_, i) => started('c1', i)));
    const sub = subscribe(log, { follow: false });
    await log.append([started('c1', 10)]); // after the call, before the first pull
    const got: Envelope[] = [];
    for await (const e of sub) {
      got.push(e);
      if (e.seq === 3) await log.append([started('c1', 11)]); // while reading
    }
    assert.deepEqual(seqs(got), range(1, 10));
    assert.deepEqual(seqs(await collect(subscribe(log, { follow: false, fromSeq: 11 }))), [11, 12]);
    assert.deepEqual(await collect(subscribe(log, { follow: false, fromSeq: 13 })), []);
    assert.deepEqual(await collect(subscribe(log, { follow: false, fromSeq: 100 })), []);
  });

  test('follow:false on an empty log ends at once', async (t) => {
    const log = await openTemp(t);
    assert.deepEqual(await collect(subscribe(log, { follow: false })), []);
  });

  test('a filter by ns/id/types delivers only matching events, caught up and live alike', async (t) => {
    const log = await openTemp(t);
    const facts = (k: number): Fact[] => [started('c1', k), paused('c1'), exited('c1', k), started('c10', k), exited('c1', k, 'other'), started('c2', k), exited('c1', k + 1)];
    const before = await log.append(facts(0));
    const filters: Array<NonNullable<SubscribeOptions['filter']>> = [
      { ns: 'default', id: 'c1', types: ['TaskStarted', 'TaskExited'] },
      { ns: 'default', id: 'c1' },
      { types: ['TaskExited'] },
      { ns: 'other' },
      { id: 'c10', types: [] },
      { id: 'c1' }, // ns defaults to 'default', as for log.read({ id })
    ];
    const subs = filters.map((filter) => subscribe(log, { filter }));
    // Pull once so each is attached, mid-way through its catch-up.
    const firsts = await Promise.all(subs.map((s) => take(s, 1)));
    const after = [...(await log.append(facts(1))), ...(await log.append(facts(2)))];
    const all = [...before, ...after];
    for (const [i, filter] of filters.entries()) {
      const want = all.filter(
        (e) =>
          (filter.ns === undefined ? filter.id === undefined || e.ns === 'default' : e.ns === filter.ns) &&
          (filter.id === undefined || e.id === filter.id) &&
          (!filter.types?.length || filter.types.includes(e.type)),
      );
      const got = [...firsts[i]!, ...(await take(subs[i]!, want.length - 1))];
      assert.deepEqual(got, want, JSON.stringify(filter));
      await subs[i]!.return(undefined);
    }
    // follow:false with a filter reads the same events from the log alone.
    assert.deepEqual(seqs(await collect(subscribe(log, { follow: false, filter: { id: 'c1', types: ['TaskExited'] } }))), seqs(all.filter((e) => e.ns === 'default' && e.id === 'c1' && e.type === 'TaskExited')));
  });

  test('fromTime delivers from the first event with ts >= fromTime; fromSeq wins over it', async (t) => {
    let now = 100;
    const log = await openTemp(t, { clock: () => now });
    for (const ts of [100, 100, 200, 200, 300]) {
      now = ts;
      await log.append([started('c1', ts)]);
    }
    const at = async (fromTime: number): Promise<number[]> => seqs(await collect(subscribe(log, { fromTime, follow: false })));
    assert.deepEqual(await at(0), [1, 2, 3, 4, 5]);
    assert.deepEqual(await at(100), [1, 2, 3, 4, 5]);
    assert.deepEqual(await at(101), [3, 4, 5]);
    assert.deepEqual(await at(200), [3, 4, 5]);
    assert.deepEqual(await at(300), [5]);
    assert.deepEqual(await at(301), []);
    assert.deepEqual(seqs(await collect(subscribe(log, { fromTime: 300, fromSeq: 2, follow: false }))), [2, 3, 4, 5]);

    // A fromTime ahead of the log: live events stamped before it are not delivered.
    const sub = subscribe(log, { fromTime: 500 });
    const got = take(sub, 2);
    now = 400;
    await log.append([started('c1', 400)]); // seq 6, ts 400
    now = 500;
    await log.append([started('c1', 500)]); // seq 7, ts 500
    now = 600;
    await log.append([started('c1', 600)]); // seq 8
    assert.deepEqual(seqs(await got), [7, 8]);
    await sub.return(undefined);
  });
});

describe('subscribe: a consumer never blocks the writer', () => {
  test('appends complete with stuck subscribers attached, and the subscribers later resume without loss', async (t) => {
    const log = await openTemp(t);
    await log.append(Array.from({ length: 3_000 }, (_, i) => started('c1', i)));
    // Stuck in the catch-up read (an iterator is open), stuck on the live queue with a
    // tiny buffer, and stuck on the live queue with the default buffer.
    const inRead = subscribe(log, { fromSeq: 1 });
    const onLive = subscribe(log, { fromSeq: 3_000, bufferSize: 5 });
    const onLiveDefault = subscribe(log, { fromSeq: 3_001 });
    const firstLive = onLiveDefault.next(); // parked, waiting for a live event
    assert.deepEqual(seqs(await take(inRead, 1)), [1]);
    assert.deepEqual(seqs(await take(onLive, 1)), [3_000]);
    t.after(async () => {
      await Promise.all([inRead.return(undefined), onLive.return(undefined)]);
    });

    let acked = 0;
    for (let round = 0; round < 200; round++) {
      const results = await Promise.all(Array.from({ length: 64 }, (_, a) => log.append([started(`c${a}`, round)])));
      acked += results.flat().length;
    }
    assert.equal(acked, 200 * 64);
    const head = log.head().seq;
    assert.equal(head, 3_000 + acked);

    // Now they pull again, and see everything, once, in order.
    assert.deepEqual(seqs(await take(inRead, head - 1)), range(2, head));
    assert.deepEqual(seqs(await take(onLive, head - 3_000)), range(3_001, head));
    const r = await firstLive;
    assert.equal(r.done, false);
    assert.deepEqual(seqs([...(r.done ? [] : [r.value]), ...(await take(onLiveDefault, head - 3_001))]), range(3_001, head));
    await onLiveDefault.return(undefined);
  });

  test('an abort ends a waiting subscription; close() ends a following one', async (t) => {
    const log = await openTemp(t);
    await log.append([started('c1', 1)]);
    const ac = new AbortController();
    const aborted = subscribe(log, { signal: ac.signal });
    assert.deepEqual(seqs(await take(aborted, 1)), [1]);
    const waiting = aborted.next();
    ac.abort();
    await assert.rejects(waiting, isAbort);

    const following = subscribe(log, {});
    assert.deepEqual(seqs(await take(following, 1)), [1]);
    const end = following.next();
    await log.close();
    assert.deepEqual(await end, { done: true, value: undefined });
  });
});
