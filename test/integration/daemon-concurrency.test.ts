// 32 concurrent clients x 10 lifecycles each against one daemon: every lifecycle's facts
// are in the log once and in causal order, and nothing is left behind.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { call as callWithin, readEvents, startDaemon, type RunningDaemon } from '../support/daemon.js';
import { alive, waitFor, workingChildrenOf } from '../support/shim-harness.js';

let d: RunningDaemon | undefined;
after(async () => d?.cleanup());

const CLIENTS = 32;
const ROUNDS = 10;
const POOL = 2; // the daemon's default --shim-pool
const POOL_MAX = 4;
// What this test checks is the log under concurrency, not latency: the first burst makes
// the daemon spawn ~30 shims at once, and on a slow 2-core machine a call queued behind them
// once waited past the helper's usual 10 s deadline (the test failed at 11.1 s; it takes ~53 s).
const call = <T = Record<string, unknown>>(client: Parameters<typeof callWithin>[0], method: string, req: unknown): Promise<T> => callWithin<T>(client, method, req, undefined, 60_000);
const ORDER = ['ContainerCreated', 'ShimSpawning', 'ShimReady', 'TaskCreated', 'TaskStarted', 'TaskExited', 'TaskDeleted', 'ContainerDeleted'];

test(`${CLIENTS} concurrent clients x ${ROUNDS} lifecycles`, async () => {
  // Idle shims beyond the pool's 2 are kept for reuse up to POOL_MAX, then retired after 2 s unused.
  d = await startDaemon({ args: ['--shim-pool-max', String(POOL_MAX), '--shim-pool-idle-ms', '2000'] });
  const daemon = d;
  const shimPids = new Set<number>();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      // Each client has its own connections, as separate programs would.
      const C = daemon.client('Containers');
      const T = daemon.client('Tasks');
      for (let r = 0; r < ROUNDS; r++) {
        const id = `c${c}-r${r}`;
        await call(C, 'Create', { id, runtime: 'process', args: ['/bin/sh', '-c', `exit ${(c + r) % 7}`] });
        const created = await call<{ task: { shimPid: number } }>(T, 'Create', { id });
        shimPids.add(created.task.shimPid);
        await call(T, 'Start', { id });
        const w = await call<{ exitCode: number }>(T, 'Wait', { id });
        assert.equal(w.exitCode, (c + r) % 7);
        await call(T, 'Delete', { id });
        await call(C, 'Delete', { id });
      }
    }),
  );
  const events = await readEvents(daemon);
  const byId = new Map<string, string[]>();
  for (const e of events) {
    if (!e.id || e.type.startsWith('Request')) continue;
    byId.set(e.id, [...(byId.get(e.id) ?? []), e.type]);
  }
  assert.equal(byId.size, CLIENTS * ROUNDS);
  for (const [id, types] of byId) assert.deepEqual(types, ORDER, id);
  assert.equal(events.filter((e) => e.type === 'RequestCompleted').length, CLIENTS * ROUNDS * 5); // Wait reads; the five other calls mutate
  for (let i = 1; i < events.length; i++) assert.equal(events[i]!.seq, events[i - 1]!.seq + 1);
  // A shim goes back to the pool after its last Delete while it has fewer than POOL_MAX idle,
  // or exits; once the pool has gone unused, it shrinks back to POOL.
  await waitFor(() => [...shimPids].filter((p) => alive(p)).length <= POOL_MAX, 10_000, 'every shim beyond the idle maximum to exit');
  await waitFor(() => [...shimPids].filter((p) => alive(p)).length <= POOL, 15_000, 'the idle pool to shrink back to its size');
  assert.deepEqual(workingChildrenOf(daemon.child.pid!), [], 'no child of the daemon is left');
  const list = await call<{ containers: unknown[] }>(daemon.client('Containers'), 'List', { labelFilters: [] });
  assert.equal(list.containers.length, 0);
});
