// A damaged log: a flipped byte (body or hash trailer), a record deleted in the middle, or
// the last record deleted (meta/head then names a missing seq). The log reports the first
// bad seq on open and from verify(), refuses appends with CHAIN_BROKEN, and repair() moves
// the bad tail aside (bytes kept) and appends LogRepaired, after which appends continue.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { ChronicleError, type ErrorCode } from '../../src/errors.js';
import { EventLog, type Envelope, type EventLogOptions, type Fact } from '../../src/events/index.js';
import { asidePrefixOf, logKey, META_HEAD, decodeHead, prefixEnd } from '../../src/events/keys.js';

const N = 60;

function fact(i: number): Fact {
  return i % 4 === 3
    ? { type: 'DaemonStopped', ns: '', id: '', actor: 'daemon', data: { reason: `r${i}` } }
    : { type: 'TaskStarted', ns: 'default', id: i % 2 ? 'c1' : 'c2', actor: 'test', data: { pid: i } };
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

type Raw = ClassicLevel<Buffer, Buffer>;

/** A log of N events in a temp dir, closed; its events and stored bytes, and raw access. */
class Damaged {
  events: Envelope[] = [];
  original = new Map<number, Buffer>();
  log: EventLog | undefined;

  private constructor(readonly dir: string) {}

  static async create(t: TestContext): Promise<Damaged> {
    const d = new Damaged(await mkdtemp(join(tmpdir(), 'chronicle-corrupt-')));
    t.after(async () => {
      await d.log?.close();
      await rm(d.dir, { recursive: true, force: true });
    });
    const log = await EventLog.open({ path: d.dir });
    for (let i = 0; i < N; i += 6) await log.append(range(i, i + 5).map(fact));
    d.events = await all(log.read());
    assert.deepEqual(seqs(d.events), range(1, N));
    await log.close();
    await d.raw(async (db) => {
      for (let seq = 1; seq <= N; seq++) d.original.set(seq, (await db.get(logKey(seq)))!);
    });
    return d;
  }

  async raw<T>(fn: (db: Raw) => Promise<T>): Promise<T> {
    const db: Raw = new ClassicLevel<Buffer, Buffer>(this.dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  /** Flips every bit of the byte at `pos` (negative: from the end) of record `seq`; returns the new bytes. */
  async flip(seq: number, pos: number): Promise<Buffer> {
    return this.raw(async (db) => {
      const value = Buffer.from((await db.get(logKey(seq)))!);
      const at = pos < 0 ? value.length + pos : pos;
      value[at] = value[at]! ^ 0xff;
      await db.put(logKey(seq), value, { sync: true });
      return value;
    });
  }

  async remove(seq: number): Promise<void> {
    await this.raw((db) => db.del(logKey(seq), { sync: true }));
  }

  async open(opts: Omit<EventLogOptions, 'path'> = {}): Promise<EventLog> {
    await this.log?.close();
    this.log = await EventLog.open({ path: this.dir, ...opts });
    return this.log;
  }

  /** Records stored under aside/<n>/, by seq. */
  async aside(n: number): Promise<Map<number, Buffer>> {
    await this.log?.close();
    this.log = undefined;
    return this.raw(async (db) => {
      const prefix = asidePrefixOf(n);
      const out = new Map<number, Buffer>();
      for await (const [key, value] of db.iterator({ gte: prefix, lt: prefixEnd(prefix) })) out.set(Number(key.readBigUInt64BE(key.length - 8)), value);
      return out;
    });
  }
}

/** The log is broken at `seq`: open, verify and append all say so, and nothing is appended. */
async function assertBrokenAt(log: EventLog, seq: number): Promise<void> {
  assert.equal(log.broken()?.seq, seq, JSON.stringify(log.broken()));
  assert.equal(typeof log.broken()?.reason, 'string');
  const before = log.head();
  const v = await log.verify();
  assert.equal(v.ok, false);
  assert.equal(!v.ok && v.seq, seq, JSON.stringify(v));
  await assert.rejects(log.append([fact(1)]), isCode('CHAIN_BROKEN', { seq }));
  assert.deepEqual(log.head(), before);
}

/** repair() moved [fromSeq, toSeq] aside and appended LogRepaired at fromSeq; the log works again. */
async function assertRepaired(d: Damaged, fromSeq: number, toSeq: number, count: number, repairNo = 1): Promise<EventLog> {
  const log = d.log!;
  const asidePrefix = asidePrefixOf(repairNo).toString('utf8');
  const r = await log.repair({ actor: 'operator' });
  assert.equal(r.repaired, true);
  assert.deepEqual([r.fromSeq, r.toSeq, r.moved, r.asidePrefix], [fromSeq, toSeq, count, asidePrefix]);
  const ev = r.event;
  assert.ok(ev && ev.type === 'LogRepaired', JSON.stringify(ev));
  assert.equal(ev.seq, fromSeq);
  assert.equal(ev.actor, 'operator');
  assert.deepEqual({ ...ev.data, reason: typeof ev.data.reason }, { fromSeq, toSeq, count, asidePrefix, reason: 'string' });
  assert.equal(ev.prev, fromSeq > 1 ? d.events[fromSeq - 2]!.hash : '0'.repeat(64));
  assert.equal(log.broken(), undefined);
  assert.deepEqual(log.head(), { seq: fromSeq, hash: ev.hash, ts: ev.ts });
  assert.deepEqual(await log.verify(), { ok: true, checked: fromSeq, fromSeq: 1, toSeq: fromSeq });
  // The good prefix is untouched; the repaired log reads cleanly, byid included.
  const events = await all(log.read());
  assert.deepEqual(events.slice(0, fromSeq - 1), d.events.slice(0, fromSeq - 1));
  assert.deepEqual(events.at(-1), ev);
  // Appends continue after LogRepaired.
  const [next] = await log.append([fact(1)]);
  assert.equal(next?.seq, fromSeq + 1);
  assert.equal(next?.prev, ev.hash);
  const c1 = d.events.filter((e) => e.seq < fromSeq && e.id === 'c1');
  assert.deepEqual(await all(log.read({ id: 'c1' })), [...c1, next]);
  // And it stays repaired across a reopen.
  const head = log.head();
  const reopened = await d.open();
  assert.equal(reopened.broken(), undefined);
  assert.deepEqual(reopened.head(), head);
  assert.equal((await reopened.verify()).ok, true);
  return reopened;
}

describe('a damaged log is reported, refuses appends, and is repaired', () => {
  const flips: Array<[string, number]> = [
    ['the first byte of the body', 0],
    ['a byte in the middle of the body', 40],
    ['the bin32 marker of the hash trailer', -34],
    ['the first byte of the hash', -32],
    ['the last byte of the hash', -1],
  ];
  for (const [where, pos] of flips) {
    test(`a flipped byte (${where}) in seq 40`, async (t) => {
      const d = await Damaged.create(t);
      const damaged = await d.flip(40, pos);
      const log = await d.open();
      assert.deepEqual(log.head(), { seq: 39, hash: d.events[38]!.hash, ts: d.events[38]!.ts });
      await assertBrokenAt(log, 40);
      await assertRepaired(d, 40, N, N - 40 + 1);
      const aside = await d.aside(1);
      assert.deepEqual([...aside.keys()], range(40, N));
      assert.deepEqual(aside.get(40), damaged);
      for (let seq = 41; seq <= N; seq++) assert.deepEqual(aside.get(seq), d.original.get(seq), `aside ${seq}`);
    });
  }

  test('a record deleted in the middle', async (t) => {
    const d = await Damaged.create(t);
    await d.remove(30);
    const log = await d.open();
    assert.equal(log.head().seq, 29);
    await assertBrokenAt(log, 30);
    await assertRepaired(d, 30, N, N - 30);
    const aside = await d.aside(1);
    assert.deepEqual([...aside.keys()], range(31, N));
    for (const [seq, bytes] of aside) assert.deepEqual(bytes, d.original.get(seq), `aside ${seq}`);
  });

  test('the last record deleted: meta/head names a seq that is missing', async (t) => {
    const d = await Damaged.create(t);
    await d.remove(N);
    assert.equal(await d.raw(async (db) => decodeHead((await db.get(META_HEAD))!).seq), N);
    const log = await d.open();
    assert.deepEqual(log.head(), { seq: N - 1, hash: d.events[N - 2]!.hash, ts: d.events[N - 2]!.ts });
    await assertBrokenAt(log, N);
    // Nothing was left to move; the lost range is still named.
    await assertRepaired(d, N, N, 0);
    assert.deepEqual([...(await d.aside(1)).keys()], []);
  });

  test('a second repair moves its tail to aside/000002/', async (t) => {
    const d = await Damaged.create(t);
    await d.remove(50);
    await d.open();
    await assertRepaired(d, 50, N, N - 50);
    await d.log!.close();
    const damaged = await d.flip(45, 10);
    await d.open();
    await assertBrokenAt(d.log!, 45);
    // 45..49, then LogRepaired (50) and the append after it (51).
    await assertRepaired(d, 45, 51, 7, 2);
    const aside = await d.aside(2);
    assert.deepEqual([...aside.keys()], range(45, 51));
    assert.deepEqual(aside.get(45), damaged);
    assert.deepEqual([...(await d.aside(1)).keys()], range(51, N));
  });

  test('repair() of a sound log changes nothing', async (t) => {
    const d = await Damaged.create(t);
    const log = await d.open();
    const head = log.head();
    assert.deepEqual(await log.repair(), { repaired: false });
    assert.deepEqual(log.head(), head);
    assert.deepEqual(await all(log.read()), d.events);
  });
});

describe('the tail check on open', () => {
  test('corruption older than the tail-check window is not seen on open, but verify() finds it', async (t) => {
    const d = await Damaged.create(t);
    await d.flip(20, 0); // undecodable
    const log = await d.open({ tailCheck: 10 });
    assert.equal(log.broken(), undefined);
    assert.equal(log.head().seq, N);
    // Appends are accepted until the damage is known...
    const [accepted] = await log.append([fact(1)]);
    assert.equal(accepted?.seq, N + 1);
    // ...a read across the record fails naming it...
    await assert.rejects(all(log.read({ fromSeq: 15 })), isCode('CHAIN_BROKEN', { seq: 20 }));
    // ...and verify() finds it, after which appends are refused.
    const v = await log.verify();
    assert.equal(!v.ok && v.seq, 20, JSON.stringify(v));
    assert.equal(log.broken()?.seq, 20);
    await assert.rejects(log.append([fact(1)]), isCode('CHAIN_BROKEN', { seq: 20 }));
    await assertRepaired(d, 20, N + 1, N + 1 - 20 + 1);
  });

  test('the window covers exactly the last tailCheck records', async (t) => {
    const d = await Damaged.create(t);
    await d.flip(N - 9, -1); // the oldest record inside a window of 10
    assert.equal((await d.open({ tailCheck: 10 })).broken()?.seq, N - 9);
    await d.log!.close();
    d.log = undefined;

    const e = await Damaged.create(t);
    await e.flip(N - 11, -1); // outside it (N - 10 is the anchor)
    assert.equal((await e.open({ tailCheck: 10 })).broken(), undefined);
    assert.equal((await e.open()).broken()?.seq, N - 11);
  });

  test('an undecodable anchor just before the window is reported with the right head', async (t) => {
    const d = await Damaged.create(t);
    await d.flip(N - 10, 0); // the record the window of 10 chains from
    const log = await d.open({ tailCheck: 10 });
    assert.deepEqual(log.head(), { seq: N - 11, hash: d.events[N - 12]!.hash, ts: d.events[N - 12]!.ts });
    await assertBrokenAt(log, N - 10);
    await assertRepaired(d, N - 10, N, 11);
  });
});
