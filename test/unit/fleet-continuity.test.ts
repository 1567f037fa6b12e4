// What `fleet verify` concludes from a node's messages alone: complete and intact, or the
// first seq that is missing, repeated, altered or undecodable. Records come from a real log.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeEvent } from '../../src/events/codec.js';
import { EventLog } from '../../src/events/event-log.js';
import { ContinuityChecker } from '../../src/fleet/continuity.js';
import { eventSubject, nodeOfSubject, nsToken } from '../../src/fleet/subjects.js';

async function records(n: number): Promise<Buffer[]> {
  const dir = await mkdtemp(join(tmpdir(), 'chr-cont-'));
  try {
    const log = await EventLog.open({ path: dir });
    await log.append(Array.from({ length: n }, (_, i) => ({ type: 'DaemonStopped' as const, ns: '', id: '', actor: 't', data: { reason: `r${i}` } })));
    const out: Buffer[] = [];
    for await (const chunk of log.storedValues(1, n)) out.push(...chunk);
    await log.close();
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function check(values: Buffer[]): ReturnType<ContinuityChecker['result']> {
  const c = new ContinuityChecker();
  values.forEach((v, i) => {
    const r = decodeEvent(v);
    c.add(v, r.ok ? r.event : undefined, r.ok ? undefined : r.reason, i + 1);
  });
  return c.result();
}

test('complete, repeated, missing, altered and undecodable streams', async () => {
  const rs = await records(10);
  assert.deepEqual(check(rs), { ok: true, checked: 10, firstSeq: 1, lastSeq: 10 });
  assert.deepEqual(check(rs.slice(4)), { ok: true, checked: 6, firstSeq: 5, lastSeq: 10 }, 'a stream whose oldest events expired still checks from its first');
  const dup = check([...rs.slice(0, 5), rs[4]!, ...rs.slice(5)]);
  assert.equal(!dup.ok && dup.seq, 5);
  assert.match(!dup.ok ? dup.reason : '', /twice/);
  const gap = check([...rs.slice(0, 3), ...rs.slice(4)]);
  assert.equal(!gap.ok && gap.seq, 4);
  const altered = rs.map((v) => Buffer.from(v));
  altered[6]![10] = altered[6]![10]! ^ 1;
  const bad = check(altered);
  assert.equal(!bad.ok && bad.seq, 7);
});

test('subjects: one token per namespace (dots escaped), _ for daemon-wide events', () => {
  assert.equal(eventSubject('n1', 'team.a', 'TaskStarted'), 'chronicle.n1.team%2Ea.TaskStarted');
  assert.equal(eventSubject('n1', '', 'DaemonStarted'), 'chronicle.n1._.DaemonStarted');
  assert.equal(nsToken('50%'), '50%25');
  assert.equal(nodeOfSubject('chronicle.n1.team%2Ea.TaskStarted'), 'n1');
  assert.equal(nodeOfSubject('other.n1.x.y'), undefined);
});
