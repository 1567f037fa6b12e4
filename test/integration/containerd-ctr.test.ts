// The unmodified `ctr` (Debian's containerd package) against a real chronicled with real runc,
// through the containerd API facade: a table of commands, each checking output and exit code,
// then kill -9 of the daemon and a restart. Nothing is skipped: ctr and runc must be installed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildBusyboxRootfs } from '../../src/demo/busybox-rootfs.js';
import { entryPoint } from '../../src/entry-points.js';
import { call, readEvents, startDaemon, type RunningDaemon, type TaskMsg } from '../support/daemon.js';
import { waitFor } from '../support/shim-harness.js';

const CTR = '/usr/bin/ctr';
const NS = `ctrt${process.pid}`;

let dir: string;
let rootfs: string;
let fifoDir: string;
let d: RunningDaemon;
let socket: string;
const background: ChildProcess[] = [];
const daemons: RunningDaemon[] = [];

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs ctr against the facade with a deadline (a hang fails the test, it never blocks it). */
function ctr(args: string[], opts: { ns?: string; timeoutMs?: number; stdin?: (w: NodeJS.WritableStream) => void } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(CTR, ['--address', socket, '--namespace', opts.ns ?? NS, ...args], { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    if (opts.stdin && child.stdin) opts.stdin(child.stdin);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ctr ${args.join(' ')} did not return within ${opts.timeoutMs ?? 20_000} ms\nstdout: ${stdout}\nstderr: ${stderr}\ndaemon:\n${d.output().slice(-3000)}`));
    }, opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await ctr(args);
  assert.equal(r.code, 0, `ctr ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** `ctr t ls` as rows: id -> [pid, status]. */
async function tasks(): Promise<Map<string, [number, string]>> {
  const out = await ok(['t', 'ls']);
  const rows = out.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
  return new Map(rows.map((r) => [r[0]!, [Number(r[1]), r[2]!]]));
}

async function startFacade(): Promise<RunningDaemon> {
  const next = await startDaemon({ dir, args: ['--containerd-socket', socket, '--shim-pool', '2'] });
  daemons.push(next);
  return next;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chr-ctr-'));
  rootfs = buildBusyboxRootfs(join(dir, 'rootfs'));
  fifoDir = join(dir, 'fifo');
  mkdirSync(fifoDir);
  socket = join(dir, 'state', 'containerd.sock');
  d = await startFacade();
});

after(async () => {
  for (const p of background) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  // The last daemon reaps every shim and runc container under the state dir (the earlier
  // ones were killed on purpose and share it).
  for (const x of daemons) x.closeClients();
  for (const x of daemons.slice(0, -1)) await x.stop('SIGKILL');
  await daemons.at(-1)?.cleanup();
  rmSync(dir, { recursive: true, force: true });
  // runc removes each container's cgroup; the namespace's parent is this test's to remove.
  const base = '/sys/fs/cgroup';
  for (const sub of existsSync(base) ? ['', ...readdirSync(base)] : []) {
    try {
      rmdirSync(join(base, sub, 'chronicle', NS));
    } catch {
      // not there, or not a cgroup hierarchy
    }
  }
});

test('ctr version: no crash, the server answers', async () => {
  const r = await ctr(['version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Server:\s+Version:\s+1\.6\.20\+chronicle/);
});

test('ctr plugins ls: the services chronicle stands in for', async () => {
  const out = await ok(['plugins', 'ls']);
  for (const id of ['containers', 'tasks', 'namespaces', 'events']) assert.match(out, new RegExp(`io\\.containerd\\.grpc\\.v1\\s+${id}\\s+-\\s+ok`));
  assert.match(out, /io\.containerd\.runtime\.v2\s+task\s+linux\/\S+\s+ok/);
});

test('ctr ns create / ns ls; a second create is ALREADY_EXISTS in containerd words', async () => {
  await ok(['ns', 'create', `${NS}x`, 'team=blue']);
  const out = await ok(['ns', 'ls']);
  assert.match(out, new RegExp(`^${NS}x\\s+team=blue\\s*$`, 'm'));
  const again = await ctr(['ns', 'create', `${NS}x`]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, new RegExp(`ctr: namespace "${NS}x": already exists`));
});

test('ctr c create --rootfs, c ls, c info (the spec as JSON); errors as containerd words them', async () => {
  await ok(['c', 'create', '--label', 'app=web', '--rootfs', rootfs, 'c1', '/bin/sleep', '100']);
  const ls = await ok(['c', 'ls']);
  assert.match(ls, /^c1\s+-\s+io\.containerd\.runc\.v2\s*$/m);
  const info = JSON.parse(await ok(['c', 'info', 'c1'])) as { ID: string; Labels: Record<string, string>; Spec: { root: { path: string }; process: { args: string[] } } };
  assert.equal(info.ID, 'c1');
  assert.equal(info.Labels['app'], 'web');
  assert.equal(info.Spec.root.path, rootfs);
  assert.deepEqual(info.Spec.process.args, ['/bin/sleep', '100']);
  const dup = await ctr(['c', 'create', '--rootfs', rootfs, 'c1', '/bin/true']);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /ctr: container "c1": already exists/);
  const badNs = await ctr(['c', 'ls'], { ns: 'bad ns!' });
  assert.equal(badNs.code, 1);
  assert.match(badNs.stderr, /ctr: invalid containerd-namespace: .*: invalid argument/);
  const badRoot = await ctr(['c', 'create', '--rootfs', join(dir, 'no-such-dir'), 'c2', '/bin/true']);
  assert.equal(badRoot.code, 1);
  assert.match(badRoot.stderr, /ctr: invalid container\.spec\.root\.path: .*: invalid argument/);
  const missing = await ctr(['c', 'info', 'nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, new RegExp(`ctr: container "nope" in namespace "${NS}": not found`));
  await ok(['c', 'rm', 'c1']);
  assert.doesNotMatch(await ok(['c', 'ls']), /c1/);
});

test('ctr run --rm: output through the FIFOs, exit code 3, nothing left', async () => {
  const r = await ctr(['run', '--rm', '--fifo-dir', fifoDir, '--rootfs', rootfs, 'r1', '/bin/sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout, 'out\n');
  assert.match(r.stderr, /err/);
  assert.doesNotMatch(await ok(['c', 'ls']), /r1/);
  assert.equal((await tasks()).has('r1'), false);
});

test('shims are given back to the warm pool after their last Delete: sequential runs reuse them', async () => {
  const ids = ['w1', 'w2', 'w3', 'w4', 'w5'];
  for (const id of ids) assert.equal((await ctr(['run', '--rm', '--null-io', '--rootfs', rootfs, id, '/bin/true'])).code, 0);
  const created = (await readEvents(d)).filter((e) => e.type === 'TaskCreated' && ids.includes(e.id));
  assert.equal(created.length, ids.length);
  const shimPids = new Set(created.map((e) => (JSON.parse(e.dataJson) as { shim: { pid: number } }).shim.pid));
  // Without reuse each run would take a new shim; the pool holds two.
  assert.ok(shimPids.size < ids.length, `${shimPids.size} shims for ${ids.length} runs`);
});

test('ctr run --rm: stdin through the FIFO; CloseIO ends it once the client is done', async () => {
  // Written once Create has surely returned: if ctr's stdin ends before that, ctr sends no
  // CloseIO, and real containerd waits forever too (containerd-api.md section 4).
  const r = await ctr(['run', '--rm', '--fifo-dir', fifoDir, '--rootfs', rootfs, 'in1', '/bin/cat'], {
    stdin: (w) => setTimeout(() => w.end('through stdin\n'), 1500),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'through stdin\n');
});

test('ctr c create, then ctr t start: attached, exit code 7, the task deleted after', async () => {
  // A script: ctr's c create would take a command's `-c` as its own --config.
  writeFileSync(join(rootfs, 'bin', 'exit7'), '#!/bin/sh\necho started\nexit 7\n', { mode: 0o755 });
  await ok(['c', 'create', '--rootfs', rootfs, 's1', '/bin/exit7']);
  const r = await ctr(['t', 'start', '--fifo-dir', fifoDir, 's1']);
  assert.equal(r.code, 7, r.stderr);
  assert.equal(r.stdout, 'started\n');
  // ctr deletes the task it waited for (as after run without --rm); the container stays.
  assert.equal((await tasks()).has('s1'), false);
  await ok(['c', 'rm', 's1']);
});

test('ctr run -d, t ls, t ps, t pause / resume (PAUSED, RUNNING)', async () => {
  await ok(['run', '-d', '--null-io', '--rootfs', rootfs, 'd1', '/bin/sleep', '1000']);
  const [pid, status] = (await tasks()).get('d1')!;
  assert.equal(status, 'RUNNING');
  assert.ok(pid > 0);
  const ps = await ok(['t', 'ps', 'd1']);
  assert.match(ps, new RegExp(`^${pid}\\s+-\\s*$`, 'm'));
  await ok(['t', 'pause', 'd1']);
  assert.equal((await tasks()).get('d1')?.[1], 'PAUSED');
  await ok(['t', 'resume', 'd1']);
  assert.equal((await tasks()).get('d1')?.[1], 'RUNNING');
});

test('ctr t exec prints, returns, and exits with the process code; the id may be used again; stdin reaches it', async () => {
  const r = await ctr(['t', 'exec', '--fifo-dir', fifoDir, '--exec-id', 'x', 'd1', '/bin/echo', 'hi'], { timeoutMs: 15_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hi\n');
  const again = await ctr(['t', 'exec', '--fifo-dir', fifoDir, '--exec-id', 'x', 'd1', '/bin/sh', '-c', 'echo again; exit 5'], { timeoutMs: 15_000 });
  assert.equal(again.code, 5, again.stderr);
  assert.equal(again.stdout, 'again\n');
  const cat = await ctr(['t', 'exec', '--fifo-dir', fifoDir, '--exec-id', 'in', 'd1', '/bin/cat'], { timeoutMs: 15_000, stdin: (w) => setTimeout(() => w.end('to the exec\n'), 1000) });
  assert.equal(cat.code, 0, cat.stderr);
  assert.equal(cat.stdout, 'to the exec\n');
});

test('ctr t ps marks exec pids with their exec id; ctr t metrics reads the cgroup', async () => {
  await ok(['t', 'exec', '-d', '--fifo-dir', fifoDir, '--exec-id', 'bg', 'd1', '/bin/sleep', '1000']);
  assert.match(await ok(['t', 'ps', 'd1']), /ExecID:bg/);
  await ok(['t', 'kill', '-s', 'KILL', '--exec-id', 'bg', 'd1']);
  const m = await ok(['t', 'metrics', 'd1']);
  assert.match(m, /^d1\s+\d{4}-/m);
  assert.match(m, /pids\.current\s+[1-9]/);
});

test('ctr events receives /tasks/exit for a container killed meanwhile', async () => {
  const events = spawn(CTR, ['--address', socket, 'events', `namespace==${NS}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  background.push(events);
  let seen = '';
  events.stdout.on('data', (b: Buffer) => (seen += b.toString()));
  // The subscription is live from when it is made: wait until it sees a first event.
  for (let i = 0; !seen.includes('"id":"probe"'); i++) {
    assert.ok(i < 50, 'ctr events never saw an event');
    await ok(['c', 'create', '--rootfs', rootfs, 'probe', '/bin/true']);
    await ok(['c', 'rm', 'probe']);
    await new Promise((r) => setTimeout(r, 100));
  }
  await ok(['run', '-d', '--null-io', '--rootfs', rootfs, 'e1', '/bin/sleep', '1000']);
  await ok(['t', 'kill', '-s', 'KILL', 'e1']);
  await waitFor(() => /\/tasks\/exit \{"container_id":"e1","id":"e1","pid":\d+,"exit_status":137/.test(seen), 10_000);
  assert.match(seen, new RegExp(`${NS} /containers/create \\{"id":"e1"`));
  assert.match(seen, new RegExp(`${NS} /tasks/start \\{"container_id":"e1"`));
  assert.equal(events.exitCode, null, 'the stream stays open');
  events.kill('SIGKILL');
});

test('ctr t kill -s KILL, STOPPED, t rm, c rm', async () => {
  await ok(['t', 'kill', '-s', 'KILL', 'd1']);
  await waitFor(async () => (await tasks()).get('d1')?.[1] === 'STOPPED', 10_000);
  await ok(['t', 'rm', 'd1']);
  assert.equal((await tasks()).has('d1'), false);
  await ok(['c', 'rm', 'd1']);
  await ok(['t', 'rm', 'e1']);
  await ok(['c', 'rm', 'e1']);
  assert.doesNotMatch(await ok(['c', 'ls']), /d1|e1/);
});

test('ctr t checkpoint --image-path: CRIU writes the image there, the task runs on, the log has TaskCheckpointed', async () => {
  await ok(['run', '-d', '--null-io', '--rootfs', rootfs, 'k1', '/bin/sleep', '1000']);
  const image = join(dir, 'ckpt-k1');
  const r = await ctr(['t', 'checkpoint', '--image-path', image, 'k1'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(image, 'inventory.img')), 'a CRIU image');
  assert.equal((await tasks()).get('k1')?.[1], 'RUNNING');
  const facts = (await readEvents(d)).filter((e) => e.id === 'k1' && e.type === 'TaskCheckpointed');
  assert.equal(facts.length, 1);
  assert.equal((JSON.parse(facts[0]!.dataJson) as { imagePath: string }).imagePath, image);
  // With stdio FIFOs too (stdin is a pipe the shim copies into, which CRIU can hand over).
  await ok(['run', '-d', '--fifo-dir', fifoDir, '--rootfs', rootfs, 'k2', '/bin/sleep', '1000']);
  const second = await ctr(['t', 'checkpoint', '--image-path', join(dir, 'ckpt-k2'), 'k2'], { timeoutMs: 120_000 });
  assert.equal(second.code, 0, second.stderr);
  const noPath = await ctr(['t', 'checkpoint', 'k2']);
  assert.equal(noPath.code, 1);
  assert.match(noPath.stderr, /image-path.*not implemented/);
  await ok(['t', 'kill', '-s', 'KILL', 'k2']);
  await waitFor(async () => (await tasks()).get('k2')?.[1] === 'STOPPED', 10_000);
  await ok(['t', 'rm', 'k2']);
  await ok(['c', 'rm', 'k2']);
});

test("chronicle's API sees ctr's containers, and ctr sees chronicle's", async () => {
  const listed = await call<{ containers: { id: string; rootfs: string; args: string[] }[] }>(d.client('Containers'), 'List', { labelFilters: [] }, NS);
  const k1 = listed.containers.find((c) => c.id === 'k1');
  assert.equal(k1?.rootfs, rootfs);
  assert.deepEqual(k1?.args, ['/bin/sleep', '1000']);
  await call(d.client('Containers'), 'Create', { id: 'n1', runtime: 'runc', rootfs, args: ['/bin/sleep', '1000'] }, NS);
  await call(d.client('Tasks'), 'Create', { id: 'n1' }, NS);
  await call(d.client('Tasks'), 'Start', { id: 'n1' }, NS);
  const t = await tasks();
  assert.equal(t.get('n1')?.[1], 'RUNNING');
  assert.match(await ok(['c', 'ls']), /^n1\s+-\s+io\.containerd\.runc\.v2/m);
  const info = JSON.parse(await ok(['c', 'info', 'n1'])) as { Spec: { process: { args: string[] } } };
  assert.deepEqual(info.Spec.process.args, ['/bin/sleep', '1000']);
});

test('kill -9 chronicled and restart: ctr t ls shows the same tasks and pids; chronicle history shows what ctr did', async () => {
  const before = await tasks();
  assert.ok(before.size >= 2);
  d.closeClients();
  await d.stop('SIGKILL');
  d = await startFacade();
  const afterRestart = await tasks();
  assert.deepEqual([...afterRestart.entries()].sort(), [...before.entries()].sort());
  const hist = spawn(process.execPath, [entryPoint('chronicle'), '--socket', d.socket, '--namespace', NS, 'history', 'k1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  hist.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((r) => hist.on('close', r));
  assert.equal(code, 0);
  for (const type of ['ContainerCreated', 'TaskCreated', 'TaskStarted', 'TaskPaused', 'TaskResumed', 'RequestCompleted']) assert.match(out, new RegExp(`${type}\\s+containerd-api:`));
  // The refused checkpoint is on record too.
  const audit = await call<{ tasks: TaskMsg[] }>(d.client('Tasks'), 'List', {}, NS);
  assert.ok(audit.tasks.some((x) => x.id === 'k1' && x.status === 'running'));
  await ok(['t', 'kill', '-s', 'KILL', 'k1']);
  await ok(['t', 'kill', '-s', 'KILL', 'n1']);
  await waitFor(async () => {
    const t = await tasks();
    return t.get('k1')?.[1] === 'STOPPED' && t.get('n1')?.[1] === 'STOPPED';
  }, 10_000);
  for (const id of ['k1', 'n1']) {
    await ok(['t', 'rm', id]);
    await ok(['c', 'rm', id]);
  }
});
