// Retention through the real daemon and CLI: `chronicle log compact --before SEQ` archives
// the first part of a history with a container still running. A user then checks that
// StateAt at every seq (archived or not) and at the head is unchanged, that `verify`
// covers archive and log, that subscribers from seq 1 still get every event once, that
// the compaction is in the audit trail, and that a kill -9 and restart recover the live
// container from the compacted log.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { entryPoint } from '../../src/entry-points.js';
import { call, readEvents, startDaemon, type CallError, type EventMsg, type RunningDaemon, type TaskMsg } from '../support/daemon.js';

const CLI = entryPoint('chronicle');
const started: RunningDaemon[] = [];
const dir = mkdtempSync(join(tmpdir(), 'chr-compact-'));

after(async () => {
  for (const d of started) await d.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function daemon(): Promise<RunningDaemon> {
  const d = await startDaemon({ dir, args: ['--shim-pool', '0', '--runtime', 'process'] });
  started.push(d);
  return d;
}

function cli(d: RunningDaemon, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, '--socket', d.socket, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface ContainerMsg {
  id: string;
  namespace: string;
  task?: { status: string; pid: number; exitCode: number };
}
const summary = (cs: ContainerMsg[]): string[] => cs.map((c) => `${c.namespace}/${c.id} ${c.task ? `${c.task.status}:${c.task.pid}:${c.task.exitCode}` : '-'}`).sort();

test('compact through the CLI: history before the cut is answered from the archive, and a restart recovers from the compacted log', async () => {
  let d = await daemon();
  const C = (): ReturnType<RunningDaemon['client']> => d.client('Containers');
  const T = (): ReturnType<RunningDaemon['client']> => d.client('Tasks');
  const H = (): ReturnType<RunningDaemon['client']> => d.client('History');
  await call(C(), 'Create', { id: 'live', args: ['/bin/sleep', '1000'] });
  await call(T(), 'Create', { id: 'live' });
  const { pid } = (await call<{ task: TaskMsg }>(T(), 'Start', { id: 'live' })).task;
  assert.ok(pid > 0);
  for (let i = 0; i < 4; i++) {
    await call(C(), 'Create', { id: `old${i}`, args: ['/bin/sh', '-c', `exit ${i}`] });
    await call(T(), 'Create', { id: `old${i}` });
    await call(T(), 'Start', { id: `old${i}` });
    await call(T(), 'Wait', { id: `old${i}` });
    if (i % 2 === 0) {
      await call(T(), 'Delete', { id: `old${i}` });
      await call(C(), 'Delete', { id: `old${i}` });
    }
  }
  await call(T(), 'Pause', { id: 'live' });
  const cut = (await readEvents(d)).find((e) => e.type === 'TaskPaused')!.seq;
  await call(T(), 'Resume', { id: 'live' });
  await call(C(), 'Create', { id: 'late', args: ['/bin/true'] });
  const before: EventMsg[] = await readEvents(d);
  const head = before.at(-1)!.seq;
  const states: string[][] = [];
  for (let s = 0; s <= head; s++) states.push(summary((await call<{ containers: ContainerMsg[] }>(H(), 'StateAt', { at: String(s) })).containers));

  const actor = `uid:${process.getuid!()}`;
  const audits = async (): Promise<number[][]> =>
    Promise.all(
      [{ limit: 1000 }, { actor, limit: 1000 }, { op: 'tasks.Start' }].map(async (q) =>
        (await call<{ records: { request: EventMsg; facts: EventMsg[] }[] }>(H(), 'Audit', q)).records.flatMap((x) => [Number(x.request.seq), ...x.facts.map((f) => Number(f.seq))]),
      ),
    );
  const auditedBefore = await audits();

  const r = cli(d, ['--json', 'log', 'compact', '--before', String(cut)]);
  assert.equal(r.code, 0, r.stderr);
  const { archive, firstSeq } = JSON.parse(r.stdout) as { archive: { path: string; fromSeq: number; toSeq: number; count: number }; firstSeq: number };
  assert.deepEqual([archive.fromSeq, archive.toSeq, archive.count, firstSeq], [1, cut - 1, cut - 1, cut]);
  assert.ok(archive.path.startsWith(join(d.root, 'archive')) && existsSync(archive.path), archive.path);
  const listed = cli(d, ['log', 'archives']);
  assert.match(listed.stdout, new RegExp(`the log itself starts at seq ${cut}`));
  assert.equal(cli(d, ['log', 'compact', '--before', '2']).stdout, `nothing to compact: the log already starts at seq ${cut}\n`);
  const tooFar = cli(d, ['log', 'compact', '--before', String(head + 100)]);
  assert.equal(tooFar.code, 1);
  assert.match(tooFar.stderr, /INVALID_ARGUMENT: .*\(field before\)/);

  // Every seq answers as before, archived or not; so does the head.
  for (let s = 0; s <= head; s++) {
    assert.deepEqual(summary((await call<{ containers: ContainerMsg[] }>(H(), 'StateAt', { at: String(s) })).containers), states[s], `state at seq ${s}`);
  }
  const v = cli(d, ['--json', 'verify']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const verdict = JSON.parse(v.stdout) as { ok: boolean; checked: number };
  assert.equal(verdict.ok, true);
  assert.ok(verdict.checked > head, 'the archive and the log are both checked');

  // A subscriber from seq 1 gets every event once, across the cut.
  const after1 = await readEvents(d);
  assert.deepEqual(
    after1.slice(0, before.length).map((e) => [e.seq, e.type, e.dataJson]),
    before.map((e) => [e.seq, e.type, e.dataJson]),
  );
  // The audit trail still covers the archived requests (scanned there; the actor index has
  // only what the log holds), each with its facts; only the compaction's own records are new.
  const auditedAfter = await audits();
  for (let i = 0; i < 3; i++) assert.deepEqual(auditedAfter[i]!.filter((seq) => seq <= head), auditedBefore[i], `audit query ${i}`);
  // The compaction is a fact with its audit record.
  const compacted = after1.find((e) => e.type === 'LogCompacted')!;
  assert.deepEqual((JSON.parse(compacted.dataJson) as { fromSeq: number; toSeq: number; archive: string }).archive, archive.path);
  const audit = await call<{ records: { outcome: string; facts: EventMsg[] }[] }>(H(), 'Audit', { op: 'log.Compact' });
  assert.deepEqual(
    audit.records.map((x) => [x.outcome, x.facts.map((f) => f.type).join(',')]),
    [
      ['completed', 'LogCompacted'],
      ['completed', ''], // nothing left before seq 2: recorded, no fact
      ['failed', ''], // INVALID_ARGUMENT: after the head
    ],
  );
  // live's timeline starts after the cut, from the state the archive left it in.
  const timeline = cli(d, ['--json', 'history', 'live']).stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: EventMsg; after?: ContainerMsg });
  assert.equal(timeline[0]!.event.type, 'TaskPaused');
  assert.equal(timeline[0]!.after?.task?.status, 'paused');

  // kill -9 and restart: recovery reads the compacted log; the live task is still ours.
  await d.stop('SIGKILL');
  d = await daemon();
  const { task } = await call<{ task: TaskMsg }>(T(), 'Get', { id: 'live' });
  assert.equal(task.status, 'running');
  assert.equal(task.pid, pid);
  for (const s of [0, 1, cut - 1, cut, head]) {
    assert.deepEqual(summary((await call<{ containers: ContainerMsg[] }>(H(), 'StateAt', { at: String(s) })).containers), states[s], `after restart, state at seq ${s}`);
  }
  // An archive that goes missing is named when its history is asked for.
  rmSync(archive.path);
  await assert.rejects(call(H(), 'StateAt', { at: '1' }), (e: CallError & Error) => e.code === 'FAILED_PRECONDITION' && e.message.includes(archive.path));
  await call(T(), 'Kill', { id: 'live', signal: 'KILL' });
  await call(T(), 'Wait', { id: 'live' });
});
