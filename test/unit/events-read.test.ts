// EventLog's chunked read takes values only (no keys) from LevelDB: a record that does not
// decode is still named by the seq of its key, also after a gap in the keys and behind the
// ns filter, and what it yields equals what get() decodes one record at a time.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { ClassicLevel } from 'classic-level';
import { ChronicleError } from '../../src/errors.js';
import { EventLog, type Envelope, type Fact } from '../../src/events/index.js';
import { logKey } from '../../src/events/keys.js';

const N = 2500; // more than two chunks of 1000

function fact(i: number): Fact {
  return i % 3 === 0
    ? { type: 'DaemonStopped', ns: '', id: '', actor: 'daemon', data: { reason: `r${i}` } }
    : { type: 'TaskStarted', ns: i % 3 === 1 ? 'a' : 'b', id: `c${i % 7}`, actor: 'test', req: `q${i}`, data: { pid: i } };
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function built(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chronicle-read-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = await EventLog.open({ path: dir });
  for (let i = 0; i < N; i += 500) await log.append(Array.from({ length: 500 }, (_, j) => fact(i + j)));
  await log.close();
  return dir;
}

async function raw(dir: string, fn: (db: ClassicLevel<Buffer, Buffer>) => Promise<void>): Promise<void> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

const brokenAt = (seq: number) => (e: unknown) => {
  assert.ok(e instanceof ChronicleError, String(e));
  assert.equal(e.code, 'CHAIN_BROKEN');
  assert.equal(e.details['seq'], seq);
  assert.match(e.message, new RegExp(`^event ${seq}: `));
  return true;
};

describe('EventLog.readChunks', () => {
  test('yields what get() decodes, in chunks of at most 1000, with ns, limit and ranges', async (t) => {
    const dir = await built(t);
    const log = await EventLog.open({ path: dir });
    t.after(() => log.close());
    const one: Envelope[] = [];
    for (let seq = 1; seq <= N; seq++) one.push((await log.get(seq))!);
    const chunks = await all(log.readChunks());
    assert.ok(chunks.every((c) => c.length > 0 && c.length <= 1000));
    assert.deepStrictEqual(chunks.flat(), one);
    assert.deepStrictEqual((await all(log.readChunks({ fromSeq: 999, toSeq: 2001 }))).flat(), one.slice(998, 2001));
    assert.deepStrictEqual((await all(log.readChunks({ ns: 'b', limit: 900 }))).flat(), one.filter((e) => e.ns === 'b').slice(0, 900));
    assert.deepStrictEqual(await all(log.read({ fromSeq: 1500, limit: 3 })), one.slice(1499, 1502));
  });

  test('a record that does not decode is named by its key, after a gap and behind the ns filter', async (t) => {
    const dir = await built(t);
    await raw(dir, async (db) => {
      await db.del(logKey(1200)); // a gap before the damage: the seq is not fromSeq + records read
      await db.del(logKey(1201));
      const value = (await db.get(logKey(1700)))!;
      await db.put(logKey(1700), Buffer.concat([value.subarray(0, 5), Buffer.of(0xc1), value.subarray(6)]));
    });
    const log = await EventLog.open({ path: dir, tailCheck: 10 });
    t.after(() => log.close());
    await assert.rejects(all(log.readChunks({ fromSeq: 3 })), brokenAt(1700));
    await assert.rejects(all(log.readChunks({ fromSeq: 1100, ns: 'a' })), brokenAt(1700));
    await assert.rejects(all(log.read({ fromSeq: 1699, toSeq: 1700 })), brokenAt(1700));
    assert.equal((await all(log.read({ fromSeq: 1100, toSeq: 1699 }))).length, 598);
    await assert.rejects(log.get(1700), brokenAt(1700));
  });
});
