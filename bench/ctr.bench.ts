// npm run bench:ctr — the same unmodified `ctr` against two servers in one run: a private
// containerd 1.6 (started as ../shared/peers/common.sh starts it: its own config, root, state
// and sockets, CRI off) and chronicled's containerd socket. `ctr run --rm --rootfs DIR ID
// /bin/true` is timed against each, alternating (and alternating which goes first), median
// of N. Then `ctr events` watches 50 lifecycles against chronicle: every envelope of each
// (containers/create, tasks/create, tasks/start, tasks/exit, tasks/delete,
// containers/delete) must arrive.
// Prints ctr_chronicle_ms, ctr_containerd_ms, ctr_ratio (goal <= 0.8), ctr_events_missed (goal 0).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBusyboxRootfs } from '../src/demo/busybox-rootfs.js';
import { startDaemon, type RunningDaemon } from '../test/support/daemon.js';
import { median, print } from './support/stats.js';

const N = Number(process.env['BENCH_N'] ?? 30);
const WARM = 3;
const LIFECYCLES = 50;
const TOPICS = ['/containers/create', '/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete', '/containers/delete'];

interface Server {
  name: string;
  socket: string;
  ns: string;
}

function ctr(s: Server, args: string[], timeoutMs = 30_000): { ok: boolean; ms: number; err: string } {
  const t0 = performance.now();
  // SIGKILL on timeout: ctr forwards the signals it gets (SIGTERM included) to its task.
  const r = spawnSync('ctr', ['--address', s.socket, '--namespace', s.ns, ...args], { stdio: ['ignore', 'ignore', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' });
  return { ok: r.status === 0, ms: performance.now() - t0, err: r.stderr ?? '' };
}

/** containerd as ../shared/peers/common.sh runs it, in `work`. */
async function startContainerd(work: string, ns: string): Promise<{ server: Server; child: ChildProcess; stop: () => Promise<void> }> {
  const socket = join(work, 'ctd.sock');
  writeFileSync(
    join(work, 'config.toml'),
    [
      'version = 2',
      `root = "${work}/root"`,
      `state = "${work}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${socket}"`,
      '[ttrpc]',
      `  address = "${socket}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '  level = "info"',
      '[metrics]',
      '  address = ""',
      '',
    ].join('\n'),
  );
  const logFd = openSync(join(work, 'containerd.log'), 'a');
  const child = spawn('containerd', ['--config', join(work, 'config.toml')], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const log = (): string => readFileSync(join(work, 'containerd.log'), 'utf8').slice(-4000);
  const server = { name: 'containerd', socket, ns };
  const deadline = Date.now() + 20_000;
  while (!(existsSync(socket) && ctr(server, ['--connect-timeout', '1s', 'version'], 5000).ok)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`containerd did not come up:\n${log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const stop = async (): Promise<void> => {
    // Its containers first (the daemon must be up to delete them), then the daemon, then any
    // shim of OURS that outlived it (cmdline names our socket).
    const ids = spawnSync('ctr', ['--address', socket, '--namespace', ns, 'c', 'ls', '-q'], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
    for (const id of ids.split('\n').filter(Boolean)) {
      spawnSync('ctr', ['--address', socket, '--namespace', ns, 't', 'rm', '-f', id], { timeout: 20_000 });
      spawnSync('ctr', ['--address', socket, '--namespace', ns, 'c', 'rm', id], { timeout: 20_000 });
    }
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      let cmd: string[];
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        continue;
      }
      if (cmd[0]?.endsWith('containerd-shim-runc-v2') && cmd.includes(socket)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  };
  return { server, child, stop };
}

/** Empty namespace cgroups runc left behind (containerd's: /<ns>; chronicle's: /chronicle/<ns>). */
function removeNamespaceCgroups(ns: string): void {
  const base = '/sys/fs/cgroup';
  for (const sub of existsSync(base) ? ['', ...readdirSync(base)] : []) {
    for (const dir of [join(base, sub, ns), join(base, sub, 'chronicle', ns)]) {
      try {
        rmdirSync(dir);
      } catch {
        // not there, or not empty
      }
    }
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'chb-ctr-'));
  const suffix = work.slice(-6).replace(/[^A-Za-z0-9]/g, 'x');
  const rootfs = buildBusyboxRootfs(join(work, 'rootfs'));
  const fifoDir = join(work, 'fifo');
  mkdirSync(fifoDir);
  mkdirSync(join(work, 'ctd'));
  let d: RunningDaemon | undefined;
  let ctd: Awaited<ReturnType<typeof startContainerd>> | undefined;
  let events: ChildProcess | undefined;
  const nsChronicle = `bch${suffix}`;
  const nsContainerd = `bcd${suffix}`;
  try {
    ctd = await startContainerd(join(work, 'ctd'), nsContainerd);
    d = await startDaemon({ dir: join(work, 'chr'), args: ['--containerd-socket', join(work, 'chr', 'state', 'containerd.sock'), '--log-level', 'warn'] });
    const chronicle: Server = { name: 'chronicle', socket: join(work, 'chr', 'state', 'containerd.sock'), ns: nsChronicle };
    const servers = [chronicle, ctd.server];
    const times = new Map<string, number[]>(servers.map((s) => [s.name, []]));
    const failures = new Map<string, number>(servers.map((s) => [s.name, 0]));
    for (let i = 0; i < N + WARM; i++) {
      const order = i % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        const r = ctr(s, ['run', '--rm', '--fifo-dir', fifoDir, '--env', 'PATH=/bin', '--rootfs', rootfs, `rm${i}`, '/bin/true'], 20_000);
        if (!r.ok) {
          failures.set(s.name, failures.get(s.name)! + 1);
          process.stderr.write(`${s.name}: ctr run --rm rm${i} failed: ${r.err.slice(-300)}\n`);
        } else if (i >= WARM) times.get(s.name)!.push(r.ms);
      }
    }
    const c = median(times.get('chronicle')!);
    const k = median(times.get('containerd')!);

    // ctr events against chronicle while 50 lifecycles run.
    let seen = '';
    events = spawn('ctr', ['--address', chronicle.socket, 'events', `namespace==${nsChronicle}`], { stdio: ['ignore', 'pipe', 'ignore'] });
    events.stdout?.on('data', (b: Buffer) => (seen += b.toString()));
    // Subscribed once it has seen a probe's events (a subscription starts from its own time).
    for (let i = 0; !seen.includes('"id":"probe"'); i++) {
      if (i >= 100) throw new Error('ctr events never saw an event');
      ctr(chronicle, ['c', 'create', '--rootfs', rootfs, 'probe', '/bin/true']);
      ctr(chronicle, ['c', 'rm', 'probe']);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < LIFECYCLES; i++) {
      const r = ctr(chronicle, ['run', '--rm', '--fifo-dir', fifoDir, '--env', 'PATH=/bin', '--rootfs', rootfs, `ev${i}`, '/bin/true']);
      if (!r.ok) process.stderr.write(`chronicle: ctr run --rm ev${i} failed: ${r.err.slice(-300)}\n`);
    }
    const expected = LIFECYCLES * TOPICS.length;
    // Each (topic, container) once: a duplicate does not make up for a loss.
    const count = (): number => {
      const got = new Set<string>();
      for (const line of seen.split('\n')) {
        const m = / (\/[a-z-]+\/[a-z-]+) \{"(?:container_)?id":"(ev\d+)"/.exec(line);
        if (m && TOPICS.includes(m[1]!)) got.add(`${m[1]!} ${m[2]!}`);
      }
      return got.size;
    };
    const deadline = Date.now() + 5000;
    while (count() < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

    print('ctr_chronicle_ms', c, 1);
    print('ctr_containerd_ms', k, 1);
    print('ctr_ratio', c / k, 2);
    print('ctr_events_missed', expected - count());
    print('ctr_n', N);
    print('ctr_failed_chronicle', failures.get('chronicle')!);
    print('ctr_failed_containerd', failures.get('containerd')!);
  } finally {
    if (events && events.exitCode === null) events.kill('SIGKILL');
    await ctd?.stop().catch((e: unknown) => process.stderr.write(`containerd teardown: ${String(e)}\n`));
    await d?.cleanup();
    removeNamespaceCgroups(nsChronicle);
    removeNamespaceCgroups(nsContainerd);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
