// A log with a long past: containers created, run, exited and deleted, each with its audit
// records, written through the real EventLog with a Projector taking snapshots as the
// daemon does. Recovery tests and bench:restart use it to show that history does not
// slow a restart down.
import { EventLog } from '../../src/events/event-log.js';
import type { Fact } from '../../src/events/schemas.js';
import { Projector } from '../../src/projections/projector.js';
import { DEFAULT_SNAPSHOT_EVERY } from '../../src/projections/snapshot-policy.js';

const PER_CONTAINER = 10;

/** The ten events of one short-lived container's whole life (ids are unique per `i`). */
export function lifeOf(i: number, stateDir: string): Fact[] {
  const ns = 'history';
  const id = `old-${i}`;
  const address = `${stateDir}/s/old-${i}.sock`;
  const bundle = `${stateDir}/bundles/${ns}/${id}`;
  const audit = (op: string): Fact => ({ type: 'RequestCompleted', ns, id, actor: 'uid:0', req: `r${i}-${op}`, data: { op, digest: 'ab'.repeat(32), durationMs: 1.5 } });
  return [
    { type: 'ContainerCreated', ns, id, actor: 'uid:0', data: { runtime: 'process', bundle, args: ['/bin/true'], env: [], cwd: '/', labels: {} } },
    { type: 'ShimSpawning', ns, id, actor: 'uid:0', data: { address } },
    { type: 'ShimReady', ns, id, actor: 'daemon', data: { address, pid: 100_000 + (i % 1000), version: 'history' } },
    { type: 'TaskCreated', ns, id, actor: 'uid:0', data: { pid: 200_000 + (i % 1000), shim: { address, pid: 100_000 + (i % 1000) }, bundle, stdio: { stdout: '/dev/null', stderr: '/dev/null' } } },
    { type: 'TaskStarted', ns, id, actor: 'uid:0', data: { pid: 200_000 + (i % 1000) } },
    audit('tasks.Start'),
    { type: 'TaskExited', ns, id, actor: 'shim', shimSeq: 1, data: { pid: 200_000 + (i % 1000), exitCode: 0, signal: null, exitedAt: Date.now(), reason: 'exited' } },
    { type: 'TaskDeleted', ns, id, actor: 'uid:0', data: { exitCode: 0 } },
    audit('tasks.Delete'),
    { type: 'ContainerDeleted', ns, id, actor: 'uid:0', data: {} },
  ];
}

/** Appends at least `events` events of history to the log at `path`, snapshotting every `snapshotEvery`. */
export async function writeHistory(path: string, stateDir: string, events: number, snapshotEvery = DEFAULT_SNAPSHOT_EVERY): Promise<number> {
  const log = await EventLog.open({ path });
  const projector = new Projector(log, { snapshotEvery });
  try {
    await projector.start();
    const lives = Math.ceil(events / PER_CONTAINER);
    for (let i = 0; i < lives; i += 100) {
      const batch: Fact[] = [];
      for (let j = i; j < Math.min(lives, i + 100); j++) batch.push(...lifeOf(j, stateDir));
      await log.append(batch);
    }
    return log.head().seq;
  } finally {
    await projector.close();
    await log.close();
  }
}
