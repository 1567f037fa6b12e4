// Recovery on start (DESIGN section 7): the projection has been loaded from the newest
// snapshot plus the log; now every shim the log says is hosting a live task, and every
// ShimSpawning without an outcome, is probed with PID() under a deadline, concurrently.
// Live shims are followed from the last shimSeq in the log: one with facts the log lacks
// (exits during the downtime, with their real time) is caught up before the daemon serves;
// one with nothing new is followed once it serves. Dead ones become ShimLost +
// TaskExited(shim-lost).
// Nothing here lists a directory: the log names what exists.
import { crashPoint } from '../crash-points.js';
import type { EventLog } from '../events/event-log.js';
import type { DaemonRecovered } from '../events/schemas.js';
import type { Logger } from '../log.js';
import type { Projector } from '../projections/projector.js';
import { isLive, type ShimView } from '../projections/state.js';
import type { Fact } from '../events/schemas.js';
import { reconcile } from './reconcile.js';
import type { ShimManager } from '../api/shim-manager.js';
import type { ShimState } from '../shim/index.js';

export interface RecoverDeps {
  log: EventLog;
  projector: Projector;
  shims: ShimManager;
  logger: Logger;
  budgetMs: number;
  concurrency?: number;
}

export async function recover(deps: RecoverDeps): Promise<DaemonRecovered> {
  const t0 = performance.now();
  const state = deps.projector.state;
  const targets = Object.values(state.shims).filter((s) => {
    if (s.status === 'lost') return false;
    // A shim keeps an exited task's status until Delete, so it is followed too.
    const hosting = s.containers.some((k) => state.containers[k]?.task);
    return hosting || s.status === 'spawning';
  });
  let alive = 0;
  let lost = 0;
  let reconciled = 0;
  const queue = [...targets];
  const deadline = Date.now() + deps.budgetMs;
  // Not probed within the budget: not known to be dead, so probed after the daemon serves.
  const late: ShimView[] = [];
  const worker = async (): Promise<void> => {
    for (let s = queue.shift(); s; s = queue.shift()) {
      const ns = s.containers[0]?.split('/')[0] ?? 'default';
      if (s.containers.length === 0) {
        // Spawned, but the daemon died before giving it a task: retire it (if it runs).
        await deps.shims.retire(s.address, 'spawned but never given a task (the daemon stopped before TaskCreated)');
        lost++;
        continue;
      }
      if (Date.now() >= deadline) {
        late.push(s);
        continue;
      }
      const probe = await deps.shims.attach(s.address, ns, s.pid, { deferFollow: true });
      // `x += await f()` would read x before the await and lose the other workers' counts.
      if (probe) {
        alive++;
        const n = await reconcileShim(deps, s.address, probe.tasks);
        reconciled += n;
        // Exits during the downtime are in the log before the daemon serves.
        if (!(await deps.shims.caughtUp(s.address, probe.lastShimSeq, Math.max(0, deadline - Date.now())))) {
          deps.logger.warn({ address: s.address, lastShimSeq: probe.lastShimSeq }, 'shim facts not all handled within the recovery budget');
        }
      } else {
        const n = await deps.shims.lost(s.address, 'no answer to PID() on restart');
        lost += n;
      }
      crashPoint('recovery.middle');
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.concurrency ?? 16, Math.max(1, targets.length)) }, worker));
  const probeMs = performance.now() - t0;
  const loaded = deps.projector.loaded;
  const result: DaemonRecovered = {
    replayed: loaded.replayed,
    snapshotSeq: loaded.snapshotSeq,
    alive,
    lost,
    reconciled,
    durations: { replayMs: Math.round(loaded.ms * 10) / 10, probeMs: Math.round(probeMs * 10) / 10 },
  };
  await deps.log.append([{ type: 'DaemonRecovered', ns: '', id: '', actor: 'recovery', data: result }]);
  deps.logger.info(result, 'recovered');
  if (late.length > 0) {
    deps.logger.warn({ shims: late.length, budgetMs: deps.budgetMs }, 'recovery budget spent: probing the remaining shims while serving');
    void probeLate(deps, late).catch((e: unknown) => deps.logger.error({ err: String(e) }, 'late probing failed'));
  }
  return result;
}

/** The shims the budget left unprobed, after the daemon serves: attached, or lost if dead. */
async function probeLate(deps: RecoverDeps, late: ShimView[]): Promise<void> {
  for (const s of late) {
    const probe = await deps.shims.attach(s.address, s.containers[0]?.split('/')[0] ?? 'default', s.pid);
    if (probe) await reconcileShim(deps, s.address, probe.tasks);
    else await deps.shims.lost(s.address, 'no answer to PID() after the recovery budget');
  }
}

/** Compares each live task of a shim with the state its PID() reported and appends what the log lacks. */
async function reconcileShim(deps: RecoverDeps, address: string, reported: ShimState[]): Promise<number> {
  const state = deps.projector.state;
  const shim = state.shims[address];
  if (!shim) return 0;
  const byId = new Map(reported.map((t) => [t.id, t]));
  const facts: Fact[] = [];
  for (const key of shim.containers) {
    const c = state.containers[key];
    if (!c || !isLive(c.task)) continue;
    const actual = byId.get(c.id);
    if (!actual) continue; // not hosted any more: its exit or loss arrives through Events
    for (const type of reconcile(c.task.status, actual.status)) {
      const base = { ns: c.ns, id: c.id, actor: 'recovery' } as const;
      facts.push(type === 'TaskStarted' ? { ...base, type, data: { pid: c.task.pid } } : { ...base, type, data: {} });
    }
  }
  if (facts.length > 0) await deps.log.append(facts);
  return facts.length;
}
