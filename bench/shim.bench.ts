// npm run bench:shim — a shim's readiness and memory, next to containerd 1.6's runc shims
// measured in the same run (../shared/peers/restart.sh with N=20). PSS counts shared pages
// once across processes, so it is the fair per-container cost of many shims.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShimClient, spawnShim } from '../src/shim/index.js';
import { makeBundle } from '../test/support/busybox-bundle.js';
import { runPeer } from './support/peers.js';
import { median, print } from './support/stats.js';

const dir = mkdtempSync(join(tmpdir(), 'chb-s-'));
const stateDir = join(dir, 's');
const runcRoot = join(dir, 'runc');
const shims: number[] = [];

function memKb(pid: number): { rss: number; pss: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: field('Rss'), pss: field('Pss') };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 1000));

async function shimWith(name: string, containers: number): Promise<{ pid: number; client: ShimClient }> {
  const hello = await spawnShim({ stateDir, ns: 'bench', id: name, runcRoot });
  shims.push(hello.pid);
  const client = new ShimClient(hello.address);
  for (let i = 0; i < containers; i++) {
    const id = `${name}-${i}`;
    const bundle = makeBundle(join(dir, 'b', id), { args: ['/bin/sleep', '100000'] });
    await client.create({ id, bundle, runtime: 'runc' });
    await client.start(id);
  }
  return { pid: hello.pid, client };
}

function containerdPerContainerKb(): number | undefined {
  const v = runPeer('restart.sh', [], { N_LIST: '20', R: '1' }).get('n20.before_restart.shim_pss_per_container_kB');
  if (v === undefined) process.stderr.write('containerd peer gave no per-container PSS figure\n');
  return v === undefined ? undefined : Number(v);
}

try {
  const ready: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const hello = await spawnShim({ stateDir, ns: 'bench', id: `ready-${i}`, runcRoot });
    shims.push(hello.pid);
    const c = new ShimClient(hello.address);
    await c.pid();
    ready.push(performance.now() - t0);
    await c.shutdown(false);
    c.close();
  }
  print('shim_ready_ms', median(ready), 1);

  const idle = await shimWith('idle', 1);
  await settle();
  const idleMem = memKb(idle.pid);
  print('shim_idle_rss_mb', idleMem.rss / 1024, 1);
  print('shim_idle_pss_mb', idleMem.pss / 1024, 1);

  // One shim hosting 20 sleeping runc containers. shim_grouped_20_pss_per_container_mb counts
  // the shim's PSS plus the PSS of every process in the 20 containers (from `runc ps`: here
  // each is one busybox `sleep`), divided by 20. The shim-only figure divides the shim's PSS
  // alone by 20: that is what containerd's figure below counts (its shims, not their
  // containers), so the two compare like for like.
  const grouped = await shimWith('grouped', 20);
  await settle();
  const groupedShimKb = memKb(grouped.pid).pss;
  let containersKb = 0;
  for (let i = 0; i < 20; i++) for (const pid of await grouped.client.pids(`grouped-${i}`)) containersKb += memKb(pid).pss;
  print('shim_grouped_20_pss_per_container_mb', (groupedShimKb + containersKb) / 1024 / 20, 2);
  const groupedPerContainer = groupedShimKb / 1024 / 20;
  print('shim_grouped_20_shim_only_pss_per_container_mb', groupedPerContainer, 2);

  // One shim per container, 20 of them (shim PSS only): the cost of the default policy.
  const singles = [];
  for (let i = 0; i < 20; i++) singles.push(await shimWith(`single-${i}`, 1));
  await settle();
  const perShim = singles.reduce((n, s) => n + memKb(s.pid).pss, 0) / 1024 / 20;
  print('shim_per_container_pss_mb', perShim, 2);
  for (const s of [idle, grouped, ...singles]) s.client.close();

  const ctd = containerdPerContainerKb();
  if (ctd === undefined) console.log('containerd_shim_pss_per_container_mb: n/a');
  else {
    print('containerd_shim_pss_per_container_mb', ctd / 1024, 2);
    print('pss_ratio_grouped', groupedPerContainer / (ctd / 1024), 2);
    print('pss_ratio_one_per_container', perShim / (ctd / 1024), 2);
  }
} finally {
  try {
    const list = JSON.parse(execFileSync('runc', ['--root', runcRoot, 'list', '--format', 'json'], { encoding: 'utf8' }) || '[]') as { id: string }[] | null;
    for (const c of list ?? []) spawnSync('runc', ['--root', runcRoot, 'delete', '--force', c.id]);
  } catch {
    // nothing ran
  }
  for (const pid of shims) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
