// Crash safety of the event log: a child appends with 64 concurrent appenders and prints
// every acknowledged seq; it is SIGKILLed at random moments, over and over, on the same
// log. After every kill, every acknowledged event is there with the same hash, the chain
// verifies, nothing is broken, and appends continue at head + 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventLog } from '../../src/events/index.js';

const CHILD = fileURLToPath(new URL('../support/log-appender-child.js', import.meta.url));
const KILLS = 24;
/** A liveness bound for the child to start acknowledging, not a timing assertion. */
const START_DEADLINE_MS = 20_000;

interface Run {
  opened: { seq: number; hash: string };
  acked: Map<number, string>;
  delayMs: number;
  stderr: string;
}

/** Starts the child, waits for its first ack, lets it run `delayMs` more, and SIGKILLs it. */
async function runAndKill(dir: string, delayMs: number, children: Set<ChildProcess>): Promise<Run> {
  const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const exited = once(child, 'exit');
  let out = '';
  let stderr = '';
  const acked = new Map<number, string>();
  const twice: number[] = [];
  let opened: Run['opened'] | undefined;
  let firstAck: (() => void) | undefined;
  const acking = new Promise<void>((resolve) => (firstAck = resolve));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    const lines = out.split('\n');
    out = lines.pop() ?? ''; // an incomplete last line is not an acknowledgement
    for (const line of lines) {
      const [what, seq, hash] = line.split(' ');
      if (what === 'open') opened = { seq: Number(seq), hash: hash ?? '' };
      else if (what === 'ack') {
        if (acked.has(Number(seq))) twice.push(Number(seq));
        acked.set(Number(seq), hash ?? '');
        firstAck?.();
      }
    }
  });
  try {
    const started = await Promise.race([
      acking.then(() => 'acking' as const),
      exited.then(() => 'exited' as const),
      sleep(START_DEADLINE_MS, undefined, { ref: false }).then(() => 'deadline' as const),
    ]);
    assert.equal(started, 'acking', `child did not start acknowledging; stderr: ${stderr}`);
    await sleep(delayMs);
    assert.equal(child.exitCode, null, `child ended by itself; stderr: ${stderr}`);
    child.kill('SIGKILL');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    assert.deepEqual([code, signal], [null, 'SIGKILL']);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    children.delete(child);
  }
  assert.ok(opened, 'child printed no open line');
  assert.deepEqual(twice, [], 'seqs acknowledged twice');
  return { opened, acked, delayMs, stderr };
}

test(`SIGKILL during group-committed appends, ${KILLS} times on one log: no acknowledged event is lost`, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'chronicle-crash-'));
  const children = new Set<ChildProcess>();
  t.after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  const allAcked = new Map<number, string>();
  let expectedHead = { seq: 0, hash: '0'.repeat(64) };
  for (let kill = 0; kill < KILLS; kill++) {
    const t0 = Date.now();
    const delayMs = 20 + Math.floor(Math.random() * 281);
    const run = await runAndKill(dir, delayMs, children);
    const where = `kill ${kill} after ${delayMs} ms`;
    // The child found the head the parent left.
    assert.deepEqual(run.opened, expectedHead, `${where}: child opened at another head`);
    assert.ok(run.acked.size > 0, `${where}: nothing acknowledged`);

    const log = await EventLog.open({ path: dir });
    try {
      assert.equal(log.broken(), undefined, `${where}: ${JSON.stringify(log.broken())}`);
      const head = log.head();
      const ackedSeqs = [...run.acked.keys()].sort((a, b) => a - b);
      const lo = ackedSeqs[0]!;
      const hi = ackedSeqs.at(-1)!;
      assert.ok(head.seq >= hi, `${where}: head ${head.seq} is behind acknowledged seq ${hi}`);
      assert.ok(lo > expectedHead.seq, `${where}: acknowledged seq ${lo} reuses a seq`);
      const stored = new Map<number, string>();
      for await (const e of log.read({ fromSeq: lo, toSeq: hi })) stored.set(e.seq, e.hash);
      for (const [seq, hash] of run.acked) assert.equal(stored.get(seq), hash, `${where}: acknowledged seq ${seq}`);
      for (const [seq, hash] of run.acked) allAcked.set(seq, hash);

      // The chain verifies from before this run's first write to the head.
      const v = await log.verify({ fromSeq: Math.max(1, expectedHead.seq) });
      assert.equal(v.ok, true, `${where}: ${JSON.stringify(v)}`);
      assert.equal(v.ok && v.toSeq, head.seq);

      const appended = await log.append([{ type: 'DaemonRecovered', ns: '', id: '', actor: 'recovery', data: { replayed: head.seq, snapshotSeq: 0, alive: 0, lost: 0, reconciled: 0, durations: {} } }]);
      const next = appended[0];
      assert.ok(next, where);
      assert.equal(next.seq, head.seq + 1, where);
      assert.equal(next.prev, head.hash, where);
      allAcked.set(next.seq, next.hash);
      expectedHead = { seq: next.seq, hash: next.hash };
      if (process.env['CRASH_DEBUG']) console.log(where, 'acked', run.acked.size, 'head', head.seq, 'ms', Date.now() - t0);
    } finally {
      await log.close();
    }
  }

  // At the end: the whole chain, and every event ever acknowledged.
  const log = await EventLog.open({ path: dir });
  try {
    assert.equal(log.broken(), undefined);
    assert.deepEqual({ seq: log.head().seq, hash: log.head().hash }, expectedHead);
    const v = await log.verify();
    assert.deepEqual(v, { ok: true, checked: expectedHead.seq, fromSeq: 1, toSeq: expectedHead.seq });
    let found = 0;
    for await (const e of log.read()) {
      const hash = allAcked.get(e.seq);
      if (hash !== undefined) {
        assert.equal(e.hash, hash, `seq ${e.seq}`);
        found++;
      }
    }
    assert.equal(found, allAcked.size);
  } finally {
    await log.close();
  }
});
