// npm run bench:lifecycle — chronicle's container lifecycle next to containerd 1.6's, in one
// run: containerd's figures come from ../shared/peers (ctr against a private containerd),
// chronicle's from a persistent gRPC client against a real chronicled with real runc.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import { entryPoint } from '../src/entry-points.js';
import { busyboxRootfs } from '../test/support/busybox-bundle.js';
import { call, startDaemon, type RunningDaemon } from '../test/support/daemon.js';
import { runPeer } from './support/peers.js';
import { median, print } from './support/stats.js';

const N = Number(process.env['BENCH_N'] ?? 30);
const WARM = 3;
async function lifecycle(C: Client, T: Client, id: string, rootfs: string): Promise<void> {
  await call(C, 'Create', { id, runtime: 'runc', rootfs, args: ['/bin/true'], env: ['PATH=/bin'] });
  await call(T, 'Create', { id });
  await call(T, 'Start', { id });
  await call(T, 'Wait', { id });
  await call(T, 'Delete', { id });
  await call(C, 'Delete', { id });
}

async function chronicle(): Promise<{ lifecycleMs: number; perSecP5: number; eventMs: number; cliRunRmMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'chb-l-'));
  let d: RunningDaemon | undefined;
  try {
    d = await startDaemon({ dir, args: ['--log-level', 'warn'] });
    const rootfs = busyboxRootfs();
    const C = d.client('Containers');
    const T = d.client('Tasks');
    const times: number[] = [];
    for (let i = 0; i < N + WARM; i++) {
      const t0 = performance.now();
      await lifecycle(C, T, `l${i}`, rootfs);
      if (i >= WARM) times.push(performance.now() - t0);
    }
    // The CLI as a user runs it: a fresh process per command, as `ctr run --rm` is.
    const cli: number[] = [];
    for (let i = 0; i < N + WARM; i++) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [entryPoint('chronicle'), '--socket', d.socket, 'run', '--rm', '--runtime', 'runc', '--rootfs', rootfs, `cli${i}`, '--', '/bin/true']);
      if (r.status !== 0) throw new Error(`chronicle run --rm failed: ${r.stderr.toString()}`);
      if (i >= WARM) cli.push(performance.now() - t0);
    }
    const total = 50;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        const c = d!.client('Containers');
        const t = d!.client('Tasks');
        while (next < total) await lifecycle(c, t, `p${next++}`, rootfs);
      }),
    );
    const perSecP5 = (total / (performance.now() - t0)) * 1000;

    // Request sent -> subscriber received, through the durable commit.
    await call(C, 'Create', { id: 'ev', runtime: 'process', args: ['/bin/true'] });
    const head = (await call<{ seq: number }>(d.client('Events'), 'Head', {})).seq;
    const E = d.client('Events') as unknown as { Subscribe: (r: unknown) => NodeJS.ReadableStream & { cancel: () => void } };
    const stream = E.Subscribe({ fromSeq: head + 1, follow: true, filters: ['type=ContainerUpdated'] });
    const lat: number[] = [];
    let waiting: ((t: number) => void) | undefined;
    stream.on('data', () => waiting?.(performance.now()));
    stream.on('error', () => undefined);
    for (let i = 0; i < N; i++) {
      const got = new Promise<number>((r) => (waiting = r));
      const t0 = performance.now();
      await call(C, 'Update', { id: 'ev', labels: { n: String(i) } });
      lat.push((await got) - t0);
    }
    stream.cancel();
    return { lifecycleMs: median(times), perSecP5, eventMs: median(lat), cliRunRmMs: median(cli) };
  } finally {
    await d?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ours = await chronicle();
const ctd = runPeer('lifecycle.sh', [String(N)]);
const ev = runPeer('events.sh', ['50', '5']);
const runRm = Number(ctd.get('run_rm_true.median_ms'));
const version = Number(ctd.get('ctr_version_rpc.median_ms'));
const containerdLifecycle = runRm - version;
print('lifecycle_ms', ours.lifecycleMs, 1);
print('containerd_lifecycle_ms', containerdLifecycle, 1);
print('lifecycle_ratio', ours.lifecycleMs / containerdLifecycle, 2);
print('cli_run_rm_ms', ours.cliRunRmMs, 1);
print('ctr_run_rm_ms', runRm, 1);
print('cli_ratio', ours.cliRunRmMs / runRm, 2);
const pWall = Number(ev.get('parallel5.wall_ms'));
const pTasks = Number(ev.get('parallel5.tasks'));
print('lifecycles_per_s_p5', ours.perSecP5, 1);
print('containerd_lifecycles_per_s_p5', (pTasks / pWall) * 1000, 1);
print('lifecycles_p5_ratio', ours.perSecP5 / ((pTasks / pWall) * 1000), 2);
const ctdLatency = /median=([\d.]+)/.exec(ev.get('sequential.publish_to_receive_latency_ms') ?? '')?.[1];
print('event_latency_ms', ours.eventMs, 2);
print('containerd_event_latency_ms', Number(ctdLatency), 2);
process.exit(0);
