// The actor index behind Audit(actor): request records by actor, each with the facts of its
// call, the same answer as a scan; a log written before the index existed is scanned for
// its older part.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ClassicLevel } from 'classic-level';
import { audit } from '../../src/api/history-queries.js';
import { EventLog } from '../../src/events/event-log.js';
import type { Fact } from '../../src/events/schemas.js';
import { META_BYACTOR_FROM, PREFIX, prefixEnd } from '../../src/events/keys.js';
import * as f from '../support/facts.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** One call: its facts and its record, appended together as the daemon does. */
function call(actor: string, req: string, op: string, facts: Fact[]): Fact[] {
  return [...facts.map((x) => ({ ...x, req })), { type: 'RequestCompleted', ns: 'default', id: facts[0]?.id ?? '', actor, req, data: { op, digest: 'ab'.repeat(32), durationMs: 1 } }];
}

async function fill(log: EventLog, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const actor = i % 3 === 0 ? 'cert:alice' : 'uid:0';
    await log.append(call(actor, `r${i}`, 'containers.Create', [f.containerCreated(`c${i}`)]));
    await log.append([f.taskExited(`c${i}`)]); // a fact of nobody's call in between
  }
}

const view = (r: Awaited<ReturnType<typeof audit>>): string[] => r.entries.map((e) => `${e.request.seq}:${e.request.actor}:${e.facts.map((x) => `${x.seq}${x.type}`).join('+')}`);

test('audit by actor through the index equals the scan, facts included; pages and bounds hold', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chr-ai-'));
  dirs.push(dir);
  const log = await EventLog.open({ path: dir });
  try {
    await fill(log, 0, 30);
    const head = log.head().seq;
    const byIndex = await audit(log, { actor: 'cert:alice', fromSeq: 1, toSeq: head, limit: 1000 });
    const all = await audit(log, { fromSeq: 1, toSeq: head, limit: 1000 });
    const scanned = all.entries.filter((e) => e.request.actor === 'cert:alice');
    assert.equal(byIndex.entries.length, 10);
    assert.deepEqual(view(byIndex), view({ entries: scanned, more: false }));
    assert.ok(byIndex.entries.every((e) => e.facts.length === 1 && e.facts[0]!.type === 'ContainerCreated'));
    const page = await audit(log, { actor: 'cert:alice', fromSeq: 1, toSeq: head, limit: 4 });
    assert.equal(page.entries.length, 4);
    assert.equal(page.more, true);
    const bounded = await audit(log, { actor: 'cert:alice', fromSeq: 20, toSeq: 60, limit: 1000 });
    assert.ok(bounded.entries.every((e) => e.request.seq >= 20 && e.request.seq <= 60) && bounded.entries.length > 0);
  } finally {
    await log.close();
  }
});

test('a log written before the index existed: its older part is scanned, the newer one indexed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chr-ai-'));
  dirs.push(dir);
  let log = await EventLog.open({ path: dir });
  await fill(log, 0, 12);
  await log.close();
  // Make it an old log: no index entries, and the index starting after its head.
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  for await (const k of db.keys({ gte: PREFIX.byactor, lt: prefixEnd(PREFIX.byactor) })) await db.del(k);
  await db.del(META_BYACTOR_FROM);
  await db.close();
  log = await EventLog.open({ path: dir });
  try {
    await fill(log, 12, 24);
    const head = log.head().seq;
    const got = await audit(log, { actor: 'cert:alice', fromSeq: 1, toSeq: head, limit: 1000 });
    const scanned = (await audit(log, { fromSeq: 1, toSeq: head, limit: 1000 })).entries.filter((e) => e.request.actor === 'cert:alice');
    assert.equal(got.entries.length, 8);
    assert.deepEqual(view(got), view({ entries: scanned, more: false }));
  } finally {
    await log.close();
  }
});
