// npm run bench:restart — a daemon restart with N live containers, next to containerd 1.6's
// in the same run (../shared/peers/restart.sh). For N = 1, 25, 100 runc `sleep` containers:
// stop the daemon (SIGTERM), start it again, and time exec -> every task listed running.
// chronicled opens its socket only after recovery has verified every shim with PID(), so the
// first List that answers already shows verified tasks. The N = 100 round is repeated on a
// log that already holds 1,000,000 events of history. Prints `name: value` lines.
// Beside each N it prints the probe floor: the same downtime, then instead of chronicled a
// bare Node process that only calls PID() on the N shims (bench/support/probe-floor.cts), the
// least any Node daemon talking to these shims can take. A last N = 100 round groups the
// containers ten to a shim (label chronicle.io/shim-group, as containerd's runc shim groups a
// pod's containers): one of chronicle's configurations, printed apart from the goal figures,
// which compare one shim per container with containerd's `ctr run`, also one per container.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { busyboxRootfs } from '../test/support/busybox-bundle.js';
import { call, startDaemon, type RunningDaemon } from '../test/support/daemon.js';
import { writeHistory } from '../test/support/history.js';
import { runPeer } from './support/peers.js';
import { median, print } from './support/stats.js';

const N_LIST = (process.env['N_LIST'] ?? '1 25 100').split(' ').filter(Boolean).map(Number);
const R = Number(process.env['R'] ?? 5);
const HISTORY = Number(process.env['BENCH_HISTORY_EVENTS'] ?? 1_000_000);
const ARGS = ['--log-level', 'warn', '--shim-pool', '0'];
const PROBE_FLOOR = fileURLToPath(new URL('./support/probe-floor.cjs', import.meta.url));

interface TaskMsg {
  id: string;
  status: string;
  shimAddress: string;
  shimPid: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts N runc containers running `sleep`, four at a time (`groups` shims in all, if given). */
async function fill(d: RunningDaemon, n: number, groups?: number): Promise<void> {
  const C = d.client('Containers');
  const T = d.client('Tasks');
  const rootfs = busyboxRootfs();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i = next++; i < n; i = next++) {
        const id = `r${n}-${i}`;
        const labels = groups === undefined ? {} : { 'chronicle.io/shim-group': `g${i % groups}` };
        await call(C, 'Create', { id, runtime: 'runc', rootfs, args: ['/bin/sleep', '100000'], labels });
        await call(T, 'Create', { id });
        await call(T, 'Start', { id });
      }
    }),
  );
}

/** SIGTERM, then exec -> the first List in which all `n` tasks are running, in ms. */
async function restartOnce(d: RunningDaemon, dir: string, n: number): Promise<{ d: RunningDaemon; ms: number }> {
  await d.stop('SIGTERM');
  d.closeClients();
  await sleep(300); // as restart.sh naps between stop and start
  const t0 = performance.now();
  const next = await startDaemon({ dir, args: ARGS, waitReady: false });
  const deadline = Date.now() + 60_000;
  while (!existsSync(next.socket)) {
    if (Date.now() > deadline || next.child.exitCode !== null) throw new Error(`no socket:\n${next.output()}`);
    await sleep(1);
  }
  const T = next.client('Tasks');
  for (;;) {
    const tasks = await call<{ tasks: TaskMsg[] }>(T, 'List', {}).then(
      (r) => r.tasks,
      () => [],
    );
    if (tasks.filter((t) => t.status === 'running').length === n) break;
    if (Date.now() > deadline) throw new Error(`not all ${n} running:\n${next.output()}`);
    await sleep(1);
  }
  return { d: next, ms: performance.now() - t0 };
}

/**
 * SIGTERM, then exec of the probe floor -> its exit, in ms; then chronicled again (untimed).
 * The shims to probe, and the pids they must answer with, are the ones List reports.
 */
async function floorOnce(d: RunningDaemon, dir: string, n: number): Promise<{ d: RunningDaemon; ms: number }> {
  const tasks = (await call<{ tasks: TaskMsg[] }>(d.client('Tasks'), 'List', {})).tasks;
  const shims = new Map(tasks.map((t) => [t.shimAddress, t.shimPid]));
  if (shims.size !== n) throw new Error(`probe floor: ${shims.size} shims listed, ${n} expected`);
  await d.stop('SIGTERM');
  d.closeClients();
  await sleep(300);
  const t0 = performance.now();
  const { stdout } = await promisify(execFile)(process.execPath, [PROBE_FLOOR, ...shims.keys()]);
  const ms = performance.now() - t0;
  const expected = `verified: ${n}\npids: ${[...shims.values()].join(' ')}\n`;
  if (stdout !== expected) throw new Error(`probe floor answered ${JSON.stringify(stdout)}, not ${JSON.stringify(expected)}`);
  return { d: await startDaemon({ dir, args: ARGS }), ms };
}

/**
 * Median restart time with `n` live containers (on a log prepared by `prepare`), and with
 * `floor`, the median of as many probe-floor rounds after them.
 */
async function chronicle(n: number, opts: { prepare?: (dir: string) => Promise<void>; floor?: boolean; groups?: number } = {}): Promise<{ restart: number; floor: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'chb-r-'));
  let d: RunningDaemon | undefined;
  try {
    await opts.prepare?.(dir);
    d = await startDaemon({ dir, args: ARGS });
    await fill(d, n, opts.groups);
    const times: number[] = [];
    for (let r = 0; r < R; r++) {
      const round = await restartOnce(d, dir, n);
      d = round.d;
      times.push(round.ms);
    }
    const floors: number[] = [];
    for (let r = 0; opts.floor === true && r < R; r++) {
      const round = await floorOnce(d, dir, n);
      d = round.d;
      floors.push(round.ms);
    }
    return { restart: median(times), floor: median(floors) };
  } finally {
    if (d) {
      const T = d.client('Tasks');
      const C = d.client('Containers');
      const tasks = await call<{ tasks: TaskMsg[] }>(T, 'List', {}).then((r) => r.tasks, () => []);
      for (const t of tasks) {
        await call(T, 'Delete', { id: t.id, force: true }).catch(() => undefined);
        await call(C, 'Delete', { id: t.id }).catch(() => undefined);
      }
      await d.cleanup();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const ours = new Map<number, { restart: number; floor: number }>();
for (const n of N_LIST) ours.set(n, await chronicle(n, { floor: true }));
const withHistory = await chronicle(100, {
  prepare: async (dir) => {
    await writeHistory(join(dir, 'root', 'log'), join(dir, 'state'), HISTORY);
  },
});
const grouped = await chronicle(100, { groups: 10 });
const peer = runPeer('restart.sh', [], { N_LIST: N_LIST.join(' '), R: String(R) });
for (const n of N_LIST) {
  const theirs = Number(peer.get(`n${n}.exec_to_all_running.median_ms`));
  const mine = ours.get(n)!;
  print(`restart_ms_${n}`, mine.restart, 1);
  print(`containerd_restart_ms_${n}`, theirs, 1);
  print(`restart_ratio_${n}`, mine.restart / theirs, 2);
  print(`probe_floor_ms_${n}`, mine.floor, 1);
  print(`probe_floor_ratio_${n}`, mine.floor / theirs, 2);
}
const theirs100 = Number(peer.get('n100.exec_to_all_running.median_ms'));
print('restart_ms_100_history_1m', withHistory.restart, 1);
print('restart_ratio_100_history_1m', withHistory.restart / theirs100, 2);
print('restart_ms_100_shim_groups_of_10', grouped.restart, 1);
print('restart_ratio_100_shim_groups_of_10', grouped.restart / theirs100, 2);
process.exit(0);
