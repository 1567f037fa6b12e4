// EventLog over a real LevelDB in a temp dir: append/read/head/get/seqAtTime/firstSeq,
// validation, group commit, the committed$ bus, close and reopen.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChronicleError, type ErrorCode } from '../../src/errors.js';
import { EventLog, type Envelope, type EventLogOptions, type Fact } from '../../src/events/index.js';

const ZEROS = '0'.repeat(64);

/** A fact whose data.pid tags it, so tests can tell facts apart after the round trip. */
function started(id: string, pid: number, ns = 'default'): Fact {
  return { type: 'TaskStarted', ns, id, actor: 'test', data: { pid } };
}

function daemonStopped(reason: string): Fact {
  return { type: 'DaemonStopped', ns: '', id: '', actor: 'daemon', data: { reason } };
}

function pidOf(e: Envelope): number {
  assert.equal(e.type, 'TaskStarted');
  return e.type === 'TaskStarted' ? e.data.pid : -1;
}

/** One log in a fresh temp dir; closed and removed when the test ends, even on failure. */
class TempLog {
  log!: EventLog;
  private constructor(
    readonly dir: string,
    readonly opts: Omit<EventLogOptions, 'path'>,
  ) {}

  static async open(t: TestContext, opts: Omit<EventLogOptions, 'path'> = {}): Promise<TempLog> {
    const dir = await mkdtemp(join(tmpdir(), 'chronicle-log-'));
    const f = new TempLog(dir, opts);
    t.after(async () => {
      await f.log?.close();
      await rm(dir, { recursive: true, force: true });
    });
    f.log = await EventLog.open({ path: dir, ...opts });
    return f;
  }

  async reopen(opts: Omit<EventLogOptions, 'path'> = this.opts): Promise<EventLog> {
    await this.log.close();
    this.log = await EventLog.open({ path: this.dir, ...opts });
    return this.log;
  }
}

async function all(it: AsyncIterable<Envelope>): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for await (const e of it) out.push(e);
  return out;
}

const seqs = (events: readonly Envelope[]): number[] => events.map((e) => e.seq);
const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

function isCode(code: ErrorCode, details: Record<string, unknown> = {}): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof ChronicleError, `expected a ChronicleError, got ${String(e)}`);
    assert.equal(e.code, code);
    for (const [k, v] of Object.entries(details)) assert.deepEqual(e.details[k], v, `details.${k}`);
    return true;
  };
}

function isAbort(e: unknown): boolean {
  assert.ok(e instanceof Error, `expected an Error, got ${String(e)}`);
  assert.equal(e.name, 'AbortError');
  return true;
}

/** A clock that returns the given values in turn (then repeats the last) and counts its calls. */
function scriptedClock(values: readonly number[]): { clock: () => number; calls: () => number } {
  let i = 0;
  return { clock: () => values[Math.min(i++, values.length - 1)]!, calls: () => i };
}

/** A clock that moves one second forward on every call: one distinct ts per writer turn. */
function turnClock(): { clock: () => number; calls: () => number } {
  let n = 0;
  return { clock: () => 1_700_000_000_000 + 1000 * ++n, calls: () => n };
}

describe('EventLog: append, read, head', () => {
  test('an empty log has head 0 with the zero hash, firstSeq 1 and no events', async (t) => {
    const { log } = await TempLog.open(t);
    assert.deepEqual(log.head(), { seq: 0, hash: ZEROS, ts: 0 });
    assert.equal(log.broken(), undefined);
    assert.equal(await log.firstSeq(), 1);
    assert.deepEqual(await all(log.read()), []);
    assert.equal(await log.get(1), undefined);
    assert.equal(await log.seqAtTime(Date.now()), 0);
    assert.deepEqual(await log.verify(), { ok: true, checked: 0, fromSeq: 1, toSeq: 0 });
  });

  test('seqs are gap-free from 1, each event chains to the previous, and reads return what append returned', async (t) => {
    const { log } = await TempLog.open(t);
    const appended: Envelope[] = [];
    let pid = 0;
    for (const size of [1, 3, 1, 7, 2, 1, 5]) {
      const facts = Array.from({ length: size }, () => started(`c${pid % 3}`, pid++));
      const events = await log.append(facts);
      assert.equal(events.length, size);
      assert.deepEqual(events.map(pidOf), facts.map((f) => (f.type === 'TaskStarted' ? f.data.pid : -1)));
      appended.push(...events);
    }
    assert.deepEqual(seqs(appended), range(1, pid));
    appended.forEach((e, i) => {
      assert.equal(e.prev, i === 0 ? ZEROS : appended[i - 1]!.hash, `prev of ${e.seq}`);
      assert.match(e.hash, /^[0-9a-f]{64}$/);
      assert.equal(e.v, 1);
      assert.equal(e.actor, 'test');
    });
    const last = appended.at(-1)!;
    assert.deepEqual(log.head(), { seq: last.seq, hash: last.hash, ts: last.ts });
    assert.deepEqual(await all(log.read()), appended);
    for (const e of appended) assert.deepEqual(await log.get(e.seq), e);
    assert.equal(await log.get(0), undefined);
    assert.equal(await log.get(pid + 1), undefined);
    assert.equal(await log.firstSeq(), 1);
    assert.deepEqual(await log.verify(), { ok: true, checked: pid, fromSeq: 1, toSeq: pid });
  });

  test('optional envelope fields (req, shimSeq) and daemon-wide events survive the round trip', async (t) => {
    const { log } = await TempLog.open(t);
    const facts: Fact[] = [
      { type: 'TaskExited', ns: 'k8s.io', id: 'web-1', actor: 'shim', shimSeq: 7, req: 'r-1', data: { pid: 42, exitCode: 137, signal: 'SIGKILL', exitedAt: 1234, reason: 'killed' } },
      { type: 'ContainerCreated', ns: 'default', id: 'c1', actor: 'alice', data: { runtime: 'process', bundle: '/b', args: ['sleep', '1'], env: [], cwd: '/', labels: { a: 'b' } } },
      daemonStopped('test'),
    ];
    const appended = await log.append(facts);
    assert.deepEqual(await all(log.read()), appended);
    const [exited, created, stopped] = appended;
    assert.equal(exited?.shimSeq, 7);
    assert.equal(exited?.req, 'r-1');
    assert.equal(created?.shimSeq, undefined);
    assert.ok(created && !('req' in created));
    assert.deepEqual([stopped?.ns, stopped?.id, stopped?.type], ['', '', 'DaemonStopped']);
  });

  test('ts never decreases, even when the clock goes backwards, and not across a reopen either', async (t) => {
    const script = [5_000, 4_000, 6_000, 100, 6_000, 7_000, 0, 6_999, 8_000];
    const { clock } = scriptedClock(script);
    const f = await TempLog.open(t, { clock });
    const ts: number[] = [];
    for (let i = 0; i < script.length; i++) ts.push(...(await f.log.append([started('c1', i), started('c1', 100 + i)])).map((e) => e.ts));
    const expected = script.flatMap((_, i) => {
      const max = Math.max(...script.slice(0, i + 1));
      return [max, max];
    });
    assert.deepEqual(ts, expected);
    assert.equal(f.log.head().ts, 8_000);

    // Reopened with a clock far in the past: the head's ts is the floor.
    const log = await f.reopen({ clock: () => 10 });
    assert.equal(log.head().ts, 8_000);
    const [next] = await log.append([started('c1', 999)]);
    assert.equal(next?.ts, 8_000);
    const stored = (await all(log.read())).map((e) => e.ts);
    for (let i = 1; i < stored.length; i++) assert.ok(stored[i]! >= stored[i - 1]!, `ts of seq ${i + 1} goes backwards`);
    assert.equal((await log.verify()).ok, true);
  });

  test('byid reads return exactly one container’s events, in order, bounded by fromSeq/toSeq/limit', async (t) => {
    const { log } = await TempLog.open(t);
    // Lookalike ids (c1 / c10 / c1 in another ns) and daemon events, interleaved.
    const owners: Array<[string, string]> = [];
    const facts: Fact[] = [];
    for (let i = 0; i < 60; i++) {
      const [ns, id] = [['default', 'c1'], ['default', 'c10'], ['other', 'c1'], ['', ''], ['default', 'c1'], ['default', 'c']][i % 6]! as [string, string];
      owners.push([ns, id]);
      facts.push(id === '' ? daemonStopped(`n${i}`) : started(id, i, ns));
    }
    // Several appends, so a container's events span batches.
    for (let i = 0; i < facts.length; i += 7) await log.append(facts.slice(i, i + 7));
    const seqsOf = (ns: string, id: string): number[] => owners.flatMap(([n, d], i) => (n === ns && d === id ? [i + 1] : []));

    for (const [ns, id] of [['default', 'c1'], ['default', 'c10'], ['other', 'c1'], ['default', 'c']] as const) {
      const got = await all(log.read({ ns, id }));
      assert.deepEqual(seqs(got), seqsOf(ns, id), `${ns}/${id}`);
      for (const e of got) assert.deepEqual([e.ns, e.id], [ns, id]);
    }
    // ns defaults to 'default' for an id read.
    assert.deepEqual(seqs(await all(log.read({ id: 'c1' }))), seqsOf('default', 'c1'));
    assert.deepEqual(await all(log.read({ ns: 'default', id: 'nope' })), []);
    assert.deepEqual(await all(log.read({ ns: 'nope', id: 'c1' })), []);

    const c1 = seqsOf('default', 'c1');
    assert.deepEqual(seqs(await all(log.read({ id: 'c1', fromSeq: 10, toSeq: 40 }))), c1.filter((s) => s >= 10 && s <= 40));
    assert.deepEqual(seqs(await all(log.read({ id: 'c1', limit: 3 }))), c1.slice(0, 3));
    assert.deepEqual(seqs(await all(log.read({ id: 'c1', fromSeq: 20, limit: 4 }))), c1.filter((s) => s >= 20).slice(0, 4));
    assert.deepEqual(await all(log.read({ id: 'c1', fromSeq: 40, toSeq: 10 })), []);
    assert.deepEqual(await all(log.read({ id: 'c1', limit: 0 })), []);
  });

  test('fromSeq, toSeq and limit bound a read, across chunk boundaries', async (t) => {
    const { log } = await TempLog.open(t);
    const n = 2_500; // more than two read chunks of 1000
    for (let i = 0; i < n; i += 250) await log.append(Array.from({ length: 250 }, (_, j) => started('c1', i + j)));
    const everything = await all(log.read());
    assert.deepEqual(seqs(everything), range(1, n));
    assert.deepEqual(everything.map(pidOf), range(0, n - 1));

    const cases: Array<[Parameters<EventLog['read']>[0], number[]]> = [
      [{ fromSeq: 5, toSeq: 9 }, range(5, 9)],
      [{ fromSeq: 0, toSeq: 3 }, range(1, 3)],
      [{ fromSeq: -10, limit: 2 }, [1, 2]],
      [{ fromSeq: n - 2, toSeq: n + 100 }, range(n - 2, n)],
      [{ fromSeq: n + 1 }, []],
      [{ fromSeq: 9, toSeq: 5 }, []],
      [{ limit: 3 }, [1, 2, 3]],
      [{ limit: 0 }, []],
      [{ fromSeq: 998, toSeq: 1_003 }, range(998, 1_003)],
      [{ fromSeq: 2, limit: 1_500 }, range(2, 1_501)],
      [{ fromSeq: n - 5, limit: 100 }, range(n - 5, n)],
      [{ toSeq: 1 }, [1]],
    ];
    for (const [opts, want] of cases) assert.deepEqual(seqs(await all(log.read(opts))), want, JSON.stringify(opts));
  });

  test('the ns filter returns only that namespace, and limit counts matching events', async (t) => {
    const { log } = await TempLog.open(t);
    const nss = ['a', 'b', '', 'a', 'a', 'b', 'a', ''];
    await log.append(nss.map((ns, i) => (ns === '' ? daemonStopped(`n${i}`) : started('c1', i, ns))));
    const want = (ns: string): number[] => nss.flatMap((n, i) => (n === ns ? [i + 1] : []));
    assert.deepEqual(seqs(await all(log.read({ ns: 'a' }))), want('a'));
    assert.deepEqual(seqs(await all(log.read({ ns: 'b' }))), want('b'));
    assert.deepEqual(seqs(await all(log.read({ ns: '' }))), want(''));
    assert.deepEqual(seqs(await all(log.read({ ns: 'zzz' }))), []);
    assert.deepEqual(seqs(await all(log.read({ ns: 'a', limit: 2 }))), want('a').slice(0, 2));
    assert.deepEqual(seqs(await all(log.read({ ns: 'a', fromSeq: 5, limit: 1 }))), [5]);
  });

  test('an AbortSignal stops a read: nothing is yielded after the abort', async (t) => {
    const { log } = await TempLog.open(t);
    await log.append(Array.from({ length: 50 }, (_, i) => started(i % 2 ? 'c1' : 'c2', i)));

    for (const opts of [{}, { ns: 'default', id: 'c1' }]) {
      const ac = new AbortController();
      const got: number[] = [];
      await assert.rejects(async () => {
        for await (const e of log.read({ ...opts, signal: ac.signal })) {
          got.push(e.seq);
          if (got.length === 3) ac.abort();
        }
      }, isAbort);
      assert.equal(got.length, 3, `read ${JSON.stringify(opts)} went on after the abort: ${got.join(',')}`);

      const pre = new AbortController();
      pre.abort();
      const none: number[] = [];
      await assert.rejects(async () => {
        for await (const e of log.read({ ...opts, signal: pre.signal })) none.push(e.seq);
      }, isAbort);
      assert.deepEqual(none, []);
    }
  });

  test('seqAtTime is the last seq with ts <= t; firstSeq is 1', async (t) => {
    const tss = [100, 100, 200, 300, 300, 300, 500, 500, 900];
    const { log } = await TempLog.open(t, { clock: scriptedClock(tss).clock });
    for (let i = 0; i < tss.length; i++) await log.append([started('c1', i)]);
    assert.deepEqual((await all(log.read())).map((e) => e.ts), tss);
    assert.equal(await log.firstSeq(), 1);
    for (let q = -1; q <= 1_000; q++) {
      let want = 0;
      tss.forEach((ts, i) => {
        if (ts <= q) want = i + 1;
      });
      assert.equal(await log.seqAtTime(q), want, `seqAtTime(${q})`);
    }
  });
});

describe('EventLog: append validation', () => {
  const good = started('c1', 1);
  const bad = (patch: Record<string, unknown>): Fact => ({ ...good, ...patch });
  const cases: Array<[string, unknown, string]> = [
    ['an empty list', [], 'facts'],
    ['not a list', undefined, 'facts'],
    ['a null fact', [null], 'facts.0'],
    ['a negative pid', [bad({ data: { pid: -1 } })], 'facts.0.data.pid'],
    ['a missing pid in the second fact', [good, bad({ data: {} })], 'facts.1.data.pid'],
    ['a fractional pid', [good, good, bad({ data: { pid: 1.5 } })], 'facts.2.data.pid'],
    ['an unknown type', [bad({ type: 'TaskExploded' })], 'facts.0.type'],
    ['a nested bad field', [bad({ type: 'TaskCreated', data: { pid: 1, shim: { address: '/s', pid: 'x' }, bundle: '/b', stdio: { stdout: '', stderr: '' } } })], 'facts.0.data.shim.pid'],
    ['a bad enum', [bad({ type: 'ContainerCreated', data: { runtime: 'docker', bundle: '/b', args: [], env: [], cwd: '/', labels: {} } })], 'facts.0.data.runtime'],
    ['an id with the key separator', [bad({ id: 'a\0b' })], 'facts.0.id'],
    ['a bad namespace', [bad({ ns: 'no spaces' })], 'facts.0.ns'],
    ['a missing actor', [bad({ actor: undefined })], 'facts.0.actor'],
    ['a negative shimSeq', [bad({ shimSeq: -1 })], 'facts.0.shimSeq'],
    ['an empty execId', [bad({ type: 'ExecStarted', data: { execId: '', pid: 1 } })], 'facts.0.data.execId'],
  ];

  test('bad facts are refused with INVALID_ARGUMENT naming the field, and nothing is appended', async (t) => {
    const { log } = await TempLog.open(t);
    const [first] = await log.append([started('c1', 0)]);
    const published: number[] = [];
    const sub = log.committed$.subscribe((e) => published.push(e.seq));
    t.after(() => sub.unsubscribe());
    for (const [name, facts, field] of cases) {
      await assert.rejects(log.append(facts as Fact[]), isCode('INVALID_ARGUMENT', { field }), name);
      assert.deepEqual(log.head(), { seq: 1, hash: first!.hash, ts: first!.ts }, name);
    }
    assert.deepEqual(seqs(await all(log.read())), [1]);
    assert.deepEqual(await all(log.read({ id: 'c1', fromSeq: 2 })), []);
    assert.deepEqual(published, []);
    // No seq was used up by the refused appends.
    const [next] = await log.append([started('c1', 2)]);
    assert.equal(next?.seq, 2);
    assert.equal(next?.prev, first?.hash);
    assert.deepEqual(published, [2]);
  });
});

describe('EventLog: group commit and the committed$ bus', () => {
  test('64 concurrent appends made in one tick are committed in one batch, each appender’s facts contiguous and in order', async (t) => {
    const tc = turnClock();
    const { log } = await TempLog.open(t, { clock: tc.clock });
    const sizes = Array.from({ length: 64 }, (_, a) => 1 + (a % 4));
    const results = await Promise.all(sizes.map((size, a) => log.append(Array.from({ length: size }, (_, i) => started(`c${a}`, a * 1000 + i)))));
    const total = sizes.reduce((x, y) => x + y, 0);
    const flat = results.flat().sort((x, y) => x.seq - y.seq);
    assert.deepEqual(seqs(flat), range(1, total));
    results.forEach((events, a) => {
      assert.equal(events.length, sizes[a]);
      events.forEach((e, i) => {
        assert.equal(pidOf(e), a * 1000 + i);
        if (i > 0) assert.equal(e.seq, events[i - 1]!.seq + 1, `appender ${a} is not contiguous`);
      });
    });
    // The writer reads the clock once per turn: one turn, one ts.
    assert.equal(tc.calls(), 1);
    assert.equal(new Set(flat.map((e) => e.ts)).size, 1);
    assert.deepEqual(await all(log.read()), flat);
  });

  test('maxBatchEvents bounds a turn without splitting an appender’s facts', async (t) => {
    const tc = turnClock();
    const { log } = await TempLog.open(t, { clock: tc.clock, maxBatchEvents: 10 });
    const singles = Array.from({ length: 64 }, (_, a) => log.append([started('c1', a)]));
    const big = log.append(Array.from({ length: 25 }, (_, i) => started('c2', i)));
    const events = [...(await Promise.all(singles)).flat(), ...(await big)];
    assert.deepEqual(seqs(events), range(1, 89));
    // Turns of 10 singles (x6), then 4 singles, then the 25 facts in a turn of their own.
    const perTurn = new Map<number, number>();
    for (const e of events) perTurn.set(e.ts, (perTurn.get(e.ts) ?? 0) + 1);
    assert.deepEqual([...perTurn.values()], [10, 10, 10, 10, 10, 10, 4, 25]);
    assert.equal(tc.calls(), 8);
  });

  test('committed$ emits each event once, in seq order, only once it is durable and readable', async (t) => {
    const { log } = await TempLog.open(t);
    const emitted: Envelope[] = [];
    const checks: Array<Promise<void>> = [];
    const early: number[] = [];
    const sub = log.committed$.subscribe((e) => {
      emitted.push(e);
      // Synchronously: the head already covers it.
      if (log.head().seq < e.seq) early.push(e.seq);
      // And it can be read back from LevelDB, both by get and by a fresh range read.
      checks.push(
        (async () => {
          assert.deepEqual(await log.get(e.seq), e);
          assert.deepEqual(await all(log.read({ fromSeq: e.seq, toSeq: e.seq })), [e]);
        })(),
      );
    });
    t.after(() => sub.unsubscribe());

    const acked: Envelope[] = [];
    for (let round = 0; round < 5; round++) {
      const batch = await Promise.all(Array.from({ length: 64 }, (_, a) => log.append([started(`c${a}`, round), started(`c${a}`, round + 100)])));
      acked.push(...batch.flat());
      acked.push(...(await log.append([daemonStopped(`round ${round}`)])));
    }
    await Promise.all(checks);
    assert.deepEqual(early, [], 'emitted before the head moved');
    assert.deepEqual(seqs(emitted), range(1, acked.length));
    assert.deepEqual(emitted, acked.sort((x, y) => x.seq - y.seq));
  });

  test('an appender is acknowledged only after its events were published, and the bus completes on close', async (t) => {
    const f = await TempLog.open(t);
    const emitted = new Set<number>();
    let completed = false;
    f.log.committed$.subscribe({ next: (e) => emitted.add(e.seq), complete: () => (completed = true) });
    const acks = Array.from({ length: 32 }, (_, a) =>
      f.log.append([started('c1', a)]).then((events) => {
        for (const e of events) assert.ok(emitted.has(e.seq), `seq ${e.seq} acknowledged before it was published`);
        return events;
      }),
    );
    await Promise.all(acks);
    assert.equal(completed, false);
    await f.log.close();
    assert.equal(completed, true);
  });
});

describe('EventLog: close and reopen', () => {
  test('close then reopen preserves head, hash and ts, and appends continue the chain', async (t) => {
    const f = await TempLog.open(t);
    for (let i = 0; i < 10; i++) await f.log.append([started('c1', i), daemonStopped(`${i}`)]);
    const before = f.log.head();
    const events = await all(f.log.read());
    await f.reopen();
    assert.deepEqual(f.log.head(), before);
    assert.equal(f.log.broken(), undefined);
    assert.deepEqual(await all(f.log.read()), events);
    const [next] = await f.log.append([started('c1', 99)]);
    assert.equal(next?.seq, before.seq + 1);
    assert.equal(next?.prev, before.hash);
    assert.ok((next?.ts ?? -1) >= before.ts);
    // With the smallest tail check too.
    const after = f.log.head();
    await f.reopen({ tailCheck: 1 });
    assert.deepEqual(f.log.head(), after);
    assert.deepEqual(await f.log.verify(), { ok: true, checked: after.seq, fromSeq: 1, toSeq: after.seq });
  });

  test('close waits for appends in flight; they are durable after reopen', async (t) => {
    const f = await TempLog.open(t);
    const pending = Array.from({ length: 20 }, (_, a) => f.log.append([started('c1', a)]));
    await f.log.close();
    const acked = (await Promise.all(pending)).flat();
    assert.deepEqual(seqs(acked).sort((x, y) => x - y), range(1, 20));
    const log = await f.reopen();
    assert.equal(log.head().seq, 20);
    for (const e of acked) assert.deepEqual(await log.get(e.seq), e);
  });

  test('every method of a closed log fails with UNAVAILABLE; close is idempotent', async (t) => {
    const f = await TempLog.open(t);
    await f.log.append([started('c1', 1)]);
    const log = f.log;
    await log.close();
    await log.close();
    assert.equal(log.closed, true);
    const unavailable = isCode('UNAVAILABLE');
    await assert.rejects(log.append([started('c1', 2)]), unavailable);
    await assert.rejects(all(log.read()), unavailable);
    await assert.rejects(log.get(1), unavailable);
    await assert.rejects(log.seqAtTime(0), unavailable);
    await assert.rejects(log.firstSeq(), unavailable);
    await assert.rejects(log.verify(), unavailable);
    await assert.rejects(log.repair(), unavailable);
    await f.reopen();
  });
});
