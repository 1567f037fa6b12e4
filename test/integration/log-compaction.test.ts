// Retention at the log level: compaction moves the events before a cut into an archive
// file and out of LevelDB. What a user checks: the state at the head is the same, the
// state at EVERY earlier seq and at time boundaries is still answered (from the archive),
// the archive verifies chain and all, a second compaction continues the first, a damaged
// or missing archive is named, and a compaction interrupted after it was recorded is
// finished on the next open.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ClassicLevel } from 'classic-level';
import { ArchiveReader, verifyArchive } from '../../src/events/archive.js';
import { compact, verifyHistory } from '../../src/events/compaction.js';
import { EventLog, type Fact } from '../../src/events/index.js';
import { PREFIX, prefixEnd } from '../../src/events/keys.js';
import { encodeSnapshot, Projector, stateAt, type State } from '../../src/projections/index.js';
import { lifeOf } from '../support/history.js';

const LIVES = 160; // 160 containers; every 4th stops part-way, so the state is not empty

/** Appends the lives in batches; the clock moves 10 ms per batch so times are distinct. */
async function build(t: TestContext): Promise<{ dir: string; path: string; clock: () => number }> {
  const dir = await mkdtemp(join(tmpdir(), 'chronicle-compact-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let now = 1_700_000_000_000;
  const clock = (): number => (now += 10);
  const path = join(dir, 'log');
  const log = await EventLog.open({ path, clock });
  const projector = new Projector(log, { snapshotEvery: 250 });
  await projector.start();
  for (let i = 0; i < LIVES; i += 3) {
    const batch: Fact[] = [];
    for (let j = i; j < Math.min(LIVES, i + 3); j++) {
      const life = lifeOf(j, dir);
      batch.push(...(j % 4 === 0 ? life.slice(0, 5 + (j % 3)) : life));
    }
    await log.append(batch);
  }
  await projector.close();
  await log.close();
  return { dir, path, clock };
}

const snapshotAt = (log: EventLog) => async (seq: number) => encodeSnapshot(await stateAt(log, seq));

async function statesAt(log: EventLog, seqs: readonly number[]): Promise<State[]> {
  const out: State[] = [];
  for (const s of seqs) out.push(await stateAt(log, s));
  return out;
}

async function storedLogKeys(path: string): Promise<number> {
  const db = new ClassicLevel<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    return (await db.keys({ gte: PREFIX.log, lt: prefixEnd(PREFIX.log) }).all()).length;
  } finally {
    await db.close();
  }
}

test('compaction keeps the state at every seq, the chain and the times; the archive verifies', async (t) => {
  const { dir, path, clock } = await build(t);
  const log = await EventLog.open({ path, clock });
  t.after(() => log.close());
  const head = log.head().seq;
  const every = Array.from({ length: head + 1 }, (_, i) => i);
  const before = await statesAt(log, every);
  const times = [];
  for (const s of [1, 2, 37, 400, 777, 778, head - 1, head]) {
    const e = await log.get(s);
    times.push({ ts: e!.ts, seq: await log.seqAtTime(e!.ts), before: await log.seqAtTime(e!.ts - 1) });
  }

  const cut = 700;
  const entry = await compact(log, { beforeSeq: cut, dir: join(dir, 'archive'), snapshotAt: snapshotAt(log) });
  assert.ok(entry);
  assert.deepEqual([entry.fromSeq, entry.toSeq, entry.count], [1, cut - 1, cut - 1]);
  assert.equal(log.horizon, cut);
  assert.equal(await log.firstSeq(), cut);
  assert.equal(await log.get(cut - 1), undefined, 'the archived events are gone from LevelDB');
  assert.deepEqual(await verifyArchive(entry.path, entry), { ok: true, checked: cut - 1 });
  const v = await verifyHistory(log);
  assert.equal(v.ok, true);
  assert.equal(v.checked, head);

  // Every seq, archived or not, gives the state it gave before.
  assert.deepEqual(await statesAt(log, every), before);
  for (const x of times) {
    assert.equal(await log.seqAtTime(x.ts), x.seq);
    assert.equal(await log.seqAtTime(x.ts - 1), x.before);
  }

  // A second compaction continues the first: its archive starts where the first ended.
  const second = await compact(log, { beforeSeq: 1300, dir: join(dir, 'archive'), snapshotAt: snapshotAt(log) });
  assert.ok(second);
  assert.equal(second.fromSeq, cut);
  assert.equal(second.prev, entry.lastHash);
  assert.equal(await compact(log, { beforeSeq: 1000, dir: join(dir, 'archive'), snapshotAt: snapshotAt(log) }), undefined, 'nothing left before 1000');
  await assert.rejects(compact(log, { beforeSeq: head + 1, dir: join(dir, 'archive'), snapshotAt: snapshotAt(log) }), { code: 'INVALID_ARGUMENT', details: { field: 'before' } });
  assert.deepEqual(await statesAt(log, every), before);
  await log.close();

  // Reopened: the horizon, the chain and the answers persist; appends go on.
  const again = await EventLog.open({ path, clock });
  t.after(() => again.close());
  assert.equal(again.horizon, 1300);
  assert.equal(again.broken(), undefined);
  assert.equal((await verifyHistory(again)).ok, true);
  assert.deepEqual(await statesAt(again, [0, 1, 699, 700, 1299, 1300, head]), [0, 1, 699, 700, 1299, 1300, head].map((s) => before[s]));
  await again.append([{ type: 'DaemonStopped', ns: '', id: '', actor: 'test', data: { reason: 'after compaction' } }]);
  assert.equal((await again.verify()).ok, true);
  await again.close();
  assert.equal(await storedLogKeys(path), head + 1 - 1299);
});

test('a damaged archive is named by seq; a missing one is named by path; the rest still answers', async (t) => {
  const { dir, path, clock } = await build(t);
  const log = await EventLog.open({ path, clock });
  t.after(() => log.close());
  const head = log.head().seq;
  const atHead = await stateAt(log, head);
  const entry = await compact(log, { beforeSeq: 500, dir: join(dir, 'archive'), snapshotAt: snapshotAt(log) });
  assert.ok(entry);

  // Flip one byte inside record 10's body (records start after the 8-byte magic).
  const bytes = await readFile(entry.path);
  const copy = Buffer.from(bytes);
  let at = 8;
  for (let i = 1; i < 10; i++) at += 4 + copy.readUInt32BE(at);
  copy[at + 16] = copy[at + 16]! ^ 0x01;
  await writeFile(entry.path, copy);
  const bad = await verifyHistory(log);
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.seq, 10);
  await writeFile(entry.path, bytes);
  assert.equal((await verifyHistory(log)).ok, true);

  // A changed snapshot inside the archive is not in the chain, but the recorded digest covers it.
  const h = (await ArchiveReader.open(entry.path));
  const snap = h.header.snapshots[0];
  await h.close();
  assert.ok(snap, 'the log\'s snapshots went into the archive');
  const snapped = Buffer.from(bytes);
  snapped[snap.at + 3] = snapped[snap.at + 3]! ^ 0x01;
  await writeFile(entry.path, snapped);
  const changed = await verifyHistory(log);
  assert.equal(changed.ok, false);
  assert.match(!changed.ok ? changed.reason : '', /sha256 differs/);
  await writeFile(entry.path, bytes);

  // An archive cut short is refused as such.
  await writeFile(entry.path, bytes.subarray(0, bytes.length - 100));
  const short = await verifyHistory(log);
  assert.equal(short.ok, false);
  assert.match(!short.ok ? short.reason : '', /truncated/);
  await writeFile(entry.path, bytes);

  // Missing: StateAt in the archived range says where that history is; after it, it answers.
  await rename(entry.path, `${entry.path}.moved`);
  await assert.rejects(stateAt(log, 100), (e: Error & { code?: string }) => e.code === 'FAILED_PRECONDITION' && e.message.includes(entry.path) && /archived/.test(e.message));
  assert.deepEqual(await stateAt(log, head), atHead);
  assert.deepEqual((await stateAt(log, 499)).seq, 499);
});

test('a compaction killed after recording its archive is finished on the next open', async (t) => {
  const { dir, path } = await build(t);
  const child = `
    import { EventLog } from ${JSON.stringify(new URL('../../src/events/event-log.js', import.meta.url).href)};
    import { compact } from ${JSON.stringify(new URL('../../src/events/compaction.js', import.meta.url).href)};
    import { encodeSnapshot, stateAt } from ${JSON.stringify(new URL('../../src/projections/index.js', import.meta.url).href)};
    const log = await EventLog.open({ path: ${JSON.stringify(path)} });
    await compact(log, { beforeSeq: 600, dir: ${JSON.stringify(join(dir, 'archive'))}, snapshotAt: async (s) => encodeSnapshot(await stateAt(log, s)) });
    console.log('not killed');
  `;
  const log0 = await EventLog.open({ path });
  const head = log0.head().seq;
  const expected = await statesAt(log0, [0, 300, 599, 600, head]);
  await log0.close();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { env: { ...process.env, CHRONICLE_CRASH_AT: 'compact.after-record' }, encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  assert.equal(await storedLogKeys(path), head, 'killed before anything was deleted');

  const log = await EventLog.open({ path });
  t.after(() => log.close());
  assert.equal(log.horizon, 600);
  assert.equal(await log.firstSeq(), 600);
  assert.equal(await log.get(599), undefined);
  assert.equal((await verifyHistory(log)).ok, true);
  assert.deepEqual(await statesAt(log, [0, 300, 599, 600, head]), expected);
  await log.close();
  assert.equal(await storedLogKeys(path), head - 599);
});
