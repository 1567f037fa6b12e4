// npm run bench:checkpoint — chronicle's checkpoint and restore of a busybox container next
// to runc's own, measured directly in the same run with the same CRIU and the same options
// (--tcp-established, a work dir; restore --detach with a pid file). chronicle's figures are
// a whole gRPC call each: lock, decide, the shim's runc call, the image digest, the manifest
// and the durable append (restore: digest check, a warm shim, the bundle, the append).
// Medians of BENCH_N (default 10) rounds after one warm-up round; the rounds alternate.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { makeBundle } from '../test/support/busybox-bundle.js';
import { makePipe } from '../src/shim/ffi.js';
import { call, startDaemon, type RunningDaemon } from '../test/support/daemon.js';
import { median, print } from './support/stats.js';

const N = Number(process.env['BENCH_N'] ?? 10);
const WARM = 1;
const CRIU = process.env['CHRONICLE_CRIU'] ?? '/opt/chronicle/criu/bin/criu';
const ARGS = ['/bin/sh', '-c', 'while :; do sleep 1; done'];

/**
 * Each timed call starts on a quiet machine: the previous round's background work (the warm
 * shim pool refilling after a restore: a node process starting) is over. Both sides wait alike.
 */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 700));

interface Round {
  checkpointMs: number;
  restoreMs: number;
  imageMb: number;
}

/** One chronicle round: create + start, then the timed Checkpoint (stopping it) and Restore calls. */
async function chronicleRound(d: RunningDaemon, dir: string, i: number): Promise<Round> {
  const C = d.client('Containers');
  const T = d.client('Tasks');
  const K = d.client('Checkpoints');
  const id = `b${i}`;
  const bundle = makeBundle(join(dir, 'bundles', id), { args: ARGS });
  await call(C, 'Create', { id, runtime: 'runc', bundle });
  await call(T, 'Create', { id });
  await call(T, 'Start', { id });
  await settle();
  let t0 = performance.now();
  const c = await call<{ bytes: number; checkpointId: string }>(K, 'Create', { id, leaveRunning: false, name: `cp${i}` });
  const checkpointMs = performance.now() - t0;
  t0 = performance.now();
  await call(K, 'Restore', { checkpointId: c.checkpointId, id: `r${i}` });
  const restoreMs = performance.now() - t0;
  for (const x of [id, `r${i}`]) {
    await call(T, 'Delete', { id: x, force: true });
    await call(C, 'Delete', { id: x });
  }
  await call(K, 'Delete', { checkpointId: c.checkpointId });
  return { checkpointMs, restoreMs, imageMb: c.bytes / (1 << 20) };
}

/**
 * One timed runc call. With `pipes`, its stdout/stderr (which a detached container keeps)
 * are pipes read and drained here, as a shim's are: the dumped container's output is then a
 * pipe that `runc restore` hands over, the same work CRIU does under chronicle.
 */
function runc(root: string, args: string[], pipes?: Readable[]): Promise<number> {
  const log = join(root, 'runc.log');
  mkdirSync(root, { recursive: true });
  const t0 = performance.now();
  // Real pipes (node's 'pipe' is a socketpair, which CRIU cannot hand over).
  const ends = pipes ? [makePipe(), makePipe()] : [];
  const child = spawn('runc', ['--root', root, '--log', log, ...args], { stdio: ['ignore', ends[0]?.[1] ?? 'ignore', ends[1]?.[1] ?? 'ignore'] });
  for (const [r, w] of ends) {
    closeSync(w);
    pipes!.push(new Socket({ fd: r, readable: true, writable: false }).resume());
  }
  // 'exit', not 'close': the container holds the pipes open.
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      const ms = performance.now() - t0;
      if (code === 0) resolve(ms);
      else reject(new Error(`runc ${args.slice(0, 3).join(' ')} failed: ${readFileSync(log, 'utf8').slice(-500)}`));
    }),
  );
}

/** The same dump and restore with runc alone, same CRIU, same options. */
async function runcRound(dir: string, i: number): Promise<Round> {
  const root = join(dir, 'runc');
  const id = `direct${i}`;
  const rid = `rdirect${i}`;
  const base = join(dir, 'direct', id);
  const bundle = makeBundle(base, { args: ARGS });
  const pipes: Readable[] = [];
  try {
    await runc(root, ['run', '--detach', '--bundle', bundle, id], pipes);
    await settle();
    const image = join(base, 'image');
    mkdirSync(join(base, 'work'), { recursive: true });
    const checkpointMs = await runc(root, ['--criu', CRIU, 'checkpoint', '--image-path', image, '--work-path', join(base, 'work'), '--tcp-established', id]);
    mkdirSync(join(base, 'rwork'), { recursive: true });
    const pidFile = join(base, 'restored.pid');
    const restoreMs = await runc(root, ['--criu', CRIU, 'restore', '--detach', '--image-path', image, '--work-path', join(base, 'rwork'), '--tcp-established', '--bundle', bundle, '--pid-file', pidFile, rid], pipes);
    if (!(Number(readFileSync(pidFile, 'utf8')) > 0)) throw new Error('runc restore wrote no pid');
    const du = spawnSync('du', ['-sb', image], { encoding: 'utf8' });
    return { checkpointMs, restoreMs, imageMb: Number(du.stdout.split('\t')[0]) / (1 << 20) };
  } finally {
    for (const x of [id, rid]) spawnSync('runc', ['--root', root, 'delete', '--force', x]);
    for (const p of pipes) p.destroy();
  }
}

// Rounds alternate between chronicle and runc, so that the load of a shared machine falls on both alike.
const dir = mkdtempSync(join(tmpdir(), 'chb-cp-'));
let d: RunningDaemon | undefined;
try {
  d = await startDaemon({ dir: join(dir, 'd'), args: ['--log-level', 'warn', '--criu', CRIU] });
  const ours: Round[] = [];
  const direct: Round[] = [];
  for (let i = 0; i < N + WARM; i++) {
    const a = await chronicleRound(d, dir, i);
    const b = await runcRound(dir, i);
    if (i >= WARM) {
      ours.push(a);
      direct.push(b);
    }
  }
  const m = (rs: Round[], k: keyof Round): number => median(rs.map((r) => r[k]));
  print('checkpoint_ms', m(ours, 'checkpointMs'), 1);
  print('runc_checkpoint_ms', m(direct, 'checkpointMs'), 1);
  print('checkpoint_ratio', m(ours, 'checkpointMs') / m(direct, 'checkpointMs'), 2);
  print('restore_ms', m(ours, 'restoreMs'), 1);
  print('runc_restore_ms', m(direct, 'restoreMs'), 1);
  print('restore_ratio', m(ours, 'restoreMs') / m(direct, 'restoreMs'), 2);
  print('image_mb', m(ours, 'imageMb'), 3);
  print('runc_image_mb', m(direct, 'imageMb'), 3);
} finally {
  await d?.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
