// npm run bench:history — time travel and audit over a 1,000,000-event log (snapshots every
// DEFAULT_SNAPSHOT_EVERY events, as the daemon takes them): StateAt by seq and by time, an audit of one
// actor over the whole log, the timeline of a container with 1,000 events, then a compaction
// of the first half and StateAt inside the archive it wrote. Prints
// `name: value` lines; each figure is a median or a p99 of repeated runs in this process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { audit, timeline } from '../src/api/history-queries.js';
import { EventLog } from '../src/events/event-log.js';
import type { Fact } from '../src/events/schemas.js';
import { compact, verifyHistory } from '../src/events/compaction.js';
import { encodeSnapshot, stateAt, stateAtTime } from '../src/projections/index.js';
import { writeHistory } from '../test/support/history.js';
import { DEFAULT_SNAPSHOT_EVERY } from '../src/projections/snapshot-policy.js';
import { median, percentile, print, timeIt } from './support/stats.js';

const EVENTS = Number(process.env['BENCH_HISTORY_EVENTS'] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'chb-h-'));

/** A long-lived container with 1,000 events, and requests by a rare actor, after the history. */
function busyContainer(): Fact[] {
  const ns = 'bench';
  const id = 'busy';
  const address = '/run/bench/s/busy.sock';
  const facts: Fact[] = [
    { type: 'ContainerCreated', ns, id, actor: 'uid:0', data: { runtime: 'process', bundle: '/run/bench/busy', args: ['/bin/sleep', '1'], env: [], cwd: '/', labels: {} } },
    { type: 'TaskCreated', ns, id, actor: 'uid:0', data: { pid: 4242, shim: { address, pid: 4241 }, bundle: '/run/bench/busy', stdio: { stdout: '/dev/null', stderr: '/dev/null' } } },
    { type: 'TaskStarted', ns, id, actor: 'uid:0', data: { pid: 4242 } },
  ];
  for (let i = 0; facts.length < 1000; i++) {
    facts.push({ type: i % 2 ? 'TaskResumed' : 'TaskPaused', ns, id, actor: 'uid:4242', req: `busy-${i}`, data: {} });
    facts.push({ type: 'RequestCompleted', ns, id, actor: 'uid:4242', req: `busy-${i}`, data: { op: i % 2 ? 'tasks.Resume' : 'tasks.Pause', digest: 'cd'.repeat(32), durationMs: 2 } });
  }
  return facts.slice(0, 1000);
}

try {
  const path = join(dir, 'log');
  await writeHistory(path, join(dir, 'state'), EVENTS - 1000);
  const log = await EventLog.open({ path });
  try {
    await log.append(busyContainer());
    const head = log.head();
    const first = (await log.read({ fromSeq: 1, toSeq: 1 }).next()).value as { ts: number };

    const bySeq: number[] = [];
    for (let k = 0; k < 200; k++) bySeq.push(await timeIt(() => stateAt(log, 1 + Math.floor(Math.random() * head.seq))));
    print('snapshot_every', DEFAULT_SNAPSHOT_EVERY);
    print('state_at_seq_p99_ms', percentile(bySeq, 99), 2);
    print('state_at_seq_median_ms', median(bySeq), 2);

    const byTime: number[] = [];
    for (let k = 0; k < 200; k++) byTime.push(await timeIt(() => stateAtTime(log, first.ts + Math.floor(Math.random() * (head.ts - first.ts + 1)))));
    print('state_at_time_p99_ms', percentile(byTime, 99), 2);

    const audits: number[] = [];
    let found = 0;
    for (let r = 0; r < 3; r++) {
      audits.push(
        await timeIt(async () => {
          found = (await audit(log, { actor: 'uid:4242', fromSeq: 1, toSeq: head.seq, limit: 1_000_000 })).entries.length;
        }),
      );
    }
    print('audit_one_actor_ms', median(audits), 1);
    print('audit_one_actor_records', found);

    const timelines: number[] = [];
    let entries = 0;
    for (let r = 0; r < 5; r++) {
      timelines.push(
        await timeIt(async () => {
          entries = 0;
          for await (const _ of timeline(log, 'bench', 'busy')) entries++;
        }),
      );
    }
    print('timeline_ms', median(timelines), 1);
    print('timeline_events', entries);

    // Retention: archive the first half, then time travel into the archive and across the cut.
    const cut = Math.floor(head.seq / 2);
    let archived: Awaited<ReturnType<typeof compact>> = undefined;
    const compactMs = await timeIt(async () => {
      archived = await compact(log, { beforeSeq: cut, dir: join(dir, 'archive'), snapshotAt: async (seq) => encodeSnapshot(await stateAt(log, seq)) });
    });
    const done = archived as Awaited<ReturnType<typeof compact>>;
    print('compact_events', done?.count ?? 0);
    print('compact_ms', compactMs, 0);
    print('archive_mb', (done?.bytes ?? 0) / 1e6, 1);
    const inArchive: number[] = [];
    for (let k = 0; k < 100; k++) inArchive.push(await timeIt(() => stateAt(log, 1 + Math.floor(Math.random() * (cut - 1)))));
    print('state_at_archived_p99_ms', percentile(inArchive, 99), 2);
    print('state_at_archived_median_ms', median(inArchive), 2);
    const verifyMs = await timeIt(async () => {
      const v = await verifyHistory(log);
      if (!v.ok) throw new Error(`verify after compaction failed at ${v.seq}: ${v.reason}`);
    });
    print('verify_after_compact_ms', verifyMs, 0);
  } finally {
    await log.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
