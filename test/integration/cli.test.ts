// The chronicle CLI against a real chronicled (process runtime: host commands, no rootfs;
// one runc case with --rootfs): exit codes, --json output, the unreachable hint, and
// `events --follow` surviving a daemon restart with each event printed once.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { busyboxRootfs } from '../support/busybox-bundle.js';
import { readEvents, startDaemon, type RunningDaemon } from '../support/daemon.js';
import { entryPoint } from '../../src/entry-points.js';

const CLI = entryPoint('chronicle');
// No warm shim pool: these tests are about the CLI, and idle pool shims outlive a SIGKILLed daemon.
const DAEMON_FLAGS = ['--runtime', 'process', '--log-level', 'warn', '--shim-pool', '0'];

const daemons: RunningDaemon[] = [];
const children: ChildProcess[] = [];
const dirs: string[] = [];
after(async () => {
  // By PID only: the CLI children this file spawned, then the daemons.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of daemons) await d.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function daemon(opts: { dir?: string } = {}): Promise<RunningDaemon> {
  const d = await startDaemon({ ...opts, args: DAEMON_FLAGS });
  daemons.push(d);
  return d;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chr-cli-'));
  dirs.push(dir);
  return dir;
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `chronicle --socket SOCK ...args` to its end (with a deadline). */
function cli(socket: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const child = spawn(process.execPath, [CLI, '--socket', socket, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chronicle ${args.join(' ')} took over ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The CLI with --json, its exit code checked and its output parsed. */
async function cliJson<T>(socket: string, args: string[], code = 0): Promise<T> {
  const r = await cli(socket, ['--json', ...args]);
  assert.equal(r.code, code, `chronicle ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

const jsonLines = <T>(s: string): T[] => s.split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface TaskJson {
  id: string;
  status: string;
  pid: number;
  exitCode: number;
}
interface ContainerJson {
  id: string;
  namespace: string;
  runtime: string;
  labels: Record<string, string>;
  args: string[];
  task?: TaskJson;
}
interface EventJson {
  seq: number;
  id: string;
  type: string;
  namespace: string;
  data: Record<string, unknown>;
}

const DAEMON_ERROR = /^chronicle: [A-Z_]+: /;

test('without a daemon: the hint and exit 1; usage errors exit 2; help exits 0', async () => {
  const dir = tempDir();
  const missing = await cli(join(dir, 'nope.sock'), ['ps']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /is chronicled running\?/);
  // A socket file that nobody listens on any more (a crashed daemon's).
  const stale = join(dir, 'stale.sock');
  const server = createServer();
  await new Promise<void>((r) => server.listen(stale, r));
  await new Promise<void>((r) => server.close(() => r()));
  writeFileSync(join(dir, 'plain'), '');
  for (const sock of [stale, join(dir, 'plain')]) {
    if (!existsSync(sock)) writeFileSync(sock, '');
    const r = await cli(sock, ['info']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /is chronicled running\?/);
  }
  const sock = join(dir, 'nope.sock');
  for (const args of [[], ['frobnicate'], ['ps', '--bogus'], ['run', '--rm'], ['run', 'c1'], ['kill', '-s', 'NOPE', 'c1'], ['events', '--since', 'yesterday'], ['events', '--filter', 'color=red'], ['wait'], ['run', '--runtime', 'docker', 'c1', '--', 'true'], ['--timeout', 'soon', 'ps']]) {
    const r = await cli(sock, args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  for (const args of [['--help'], ['help', 'run'], ['run', '--help'], ['events', '-h']]) {
    const r = await cli(sock, args);
    assert.equal(r.code, 0, args.join(' '));
    assert.ok(r.stdout.length > 0);
  }
});

test('run --rm: output streamed, exit code passed through, nothing left behind', async () => {
  const d = await daemon();
  const r = await cli(d.socket, ['run', '--rm', '--runtime', 'process', 'c1', '--', '/bin/sh', '-c', 'echo to-out; echo to-err >&2; exit 3']);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout, 'to-out\n');
  assert.equal(r.stderr, 'to-err\n');
  assert.deepEqual(await cliJson<ContainerJson[]>(d.socket, ['ps']), []);
  const ok = await cli(d.socket, ['run', '--rm', '--runtime', 'process', '-e', 'GREETING=hello', 'c2', '--', '/bin/sh', '-c', 'echo $GREETING']);
  assert.deepEqual([ok.code, ok.stdout], [0, 'hello\n']);
  const types = (await readEvents(d)).filter((e) => e.id === 'c1' && !e.type.startsWith('Request')).map((e) => e.type);
  assert.deepEqual(types.filter((t) => !t.startsWith('Shim')), ['ContainerCreated', 'TaskCreated', 'TaskStarted', 'TaskExited', 'TaskDeleted', 'ContainerDeleted']);
});

test('detached lifecycle: ps, inspect, pause, resume, exec, kill, wait, rm', async () => {
  const d = await daemon();
  const s = d.socket;
  const started = await cliJson<ContainerJson>(s, ['run', '-d', '--runtime', 'process', '--label', 'app=web', 'c1', '--', '/bin/sleep', '60']);
  assert.equal(started.task?.status, 'running');
  assert.ok((started.task?.pid ?? 0) > 0);
  const [row] = await cliJson<ContainerJson[]>(s, ['ps']);
  assert.deepEqual([row?.id, row?.task?.status, row?.labels], ['c1', 'running', { app: 'web' }]);
  const table = await cli(s, ['ps']);
  assert.equal(table.code, 0);
  assert.deepEqual(table.stdout.split('\n')[0]?.split(/\s+/), ['ID', 'STATUS', 'PID', 'RUNTIME', 'EXIT', 'CREATED']);
  assert.equal((await cliJson<ContainerJson>(s, ['inspect', 'c1'])).args.join(' '), '/bin/sleep 60');

  assert.equal((await cliJson<TaskJson>(s, ['pause', 'c1'])).status, 'paused');
  assert.equal((await cliJson<ContainerJson>(s, ['inspect', 'c1'])).task?.status, 'paused');
  assert.equal((await cliJson<TaskJson>(s, ['resume', 'c1'])).status, 'running');

  const x = await cli(s, ['exec', 'c1', '--', '/bin/sh', '-c', 'echo from-exec; exit 4']);
  assert.deepEqual([x.code, x.stdout], [4, 'from-exec\n']);
  const x2 = await cli(s, ['exec', '--exec-id', 'named', 'c1', '--', '/bin/true']);
  assert.equal(x2.code, 0, x2.stderr);

  // rm without -f refuses a running task and leaves the container.
  const refused = await cli(s, ['rm', 'c1']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, DAEMON_ERROR);
  assert.equal((await cliJson<ContainerJson[]>(s, ['ps'])).length, 1);

  const waiter = cli(s, ['wait', 'c1']);
  assert.equal((await cli(s, ['kill', '-s', 'KILL', 'c1'])).code, 0);
  const w = await waiter;
  assert.deepEqual([w.code, w.stdout.trim()], [137, '137']);
  assert.equal((await cliJson<{ exitCode: number }>(s, ['wait', 'c1'], 137)).exitCode, 137);
  const [exited] = await cliJson<ContainerJson[]>(s, ['ps']);
  assert.deepEqual([exited?.task?.status, exited?.task?.exitCode], ['exited', 137]);

  assert.deepEqual(await cliJson<{ id: string }[]>(s, ['rm', 'c1']), [{ id: 'c1', exitCode: 137 }]);
  assert.deepEqual(await cliJson<ContainerJson[]>(s, ['ps']), []);
});

test('create then start; logs; rm -f of a live task; kill of a missing one', async () => {
  const d = await daemon();
  const s = d.socket;
  const created = await cliJson<ContainerJson>(s, ['create', '--runtime', 'process', 'c1', '--', '/bin/sh', '-c', 'echo line1; echo line2 >&2; exit 7']);
  assert.equal(created.task?.status, 'created');
  assert.equal((await cliJson<ContainerJson>(s, ['inspect', 'c1'])).task?.status, 'created');
  assert.equal((await cli(s, ['start', 'c1'])).code, 0);
  const w = await cli(s, ['wait', 'c1']);
  assert.equal(w.code, 7);
  const logs = await cli(s, ['logs', 'c1']);
  assert.deepEqual([logs.code, logs.stdout, logs.stderr], [0, 'line1\n', 'line2\n']);
  const follow = await cli(s, ['logs', '-f', '--stream', 'stdout', 'c1']);
  assert.deepEqual([follow.code, follow.stdout, follow.stderr], [0, 'line1\n', '']);

  assert.equal((await cli(s, ['run', '-d', '--runtime', 'process', 'live', '--', '/bin/sleep', '60'])).code, 0);
  const removed = await cliJson<{ id: string }[]>(s, ['rm', '-f', 'live', 'c1']);
  assert.deepEqual(removed.map((r) => r.id), ['live', 'c1']);
  assert.deepEqual(await cliJson<ContainerJson[]>(s, ['ps']), []);

  const missing = await cli(s, ['kill', 'ghost']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, DAEMON_ERROR);
  const gone = await cli(s, ['rm', 'ghost']);
  assert.equal(gone.code, 1);
});

test('errors from the daemon: exit 1 with the code; INVALID_ARGUMENT names the field', async () => {
  const d = await daemon();
  const s = d.socket;
  assert.equal((await cli(s, ['run', '-d', '--runtime', 'process', 'dup', '--', '/bin/sleep', '30'])).code, 0);
  const dup = await cli(s, ['run', '-d', '--runtime', 'process', 'dup', '--', '/bin/true']);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, DAEMON_ERROR);
  const badId = await cli(s, ['run', '--runtime', 'process', 'bad/id', '--', '/bin/true']);
  assert.equal(badId.code, 1);
  assert.match(badId.stderr, /^chronicle: INVALID_ARGUMENT: .*\(field [^)]+\)/);
  const badNs = await cli(s, ['-n', 'bad ns!', 'ps']);
  assert.equal(badNs.code, 1);
  assert.match(badNs.stderr, /^chronicle: INVALID_ARGUMENT: /);
  const noRootfs = await cli(s, ['run', '--runtime', 'runc', 'r', '--', '/bin/true']);
  assert.equal(noRootfs.code, 1);
  assert.match(noRootfs.stderr, /^chronicle: INVALID_ARGUMENT: .*\(field rootfs\)/);
  assert.equal((await cli(s, ['rm', '-f', 'dup'])).code, 0);
});

test('namespaces: -n and CHRONICLE_NAMESPACE keep containers apart', async () => {
  const d = await daemon();
  const s = d.socket;
  assert.equal((await cli(s, ['-n', 'team-a', 'run', '--runtime', 'process', '-d', 'c1', '--', '/bin/sleep', '30'])).code, 0);
  const envB = { CHRONICLE_NAMESPACE: 'team-b' };
  assert.equal((await cli(s, ['run', '--runtime', 'process', '-d', 'c1', '--', '/bin/sleep', '30', '--namespace', 'team-a'], { env: envB })).code, 0);
  const a = await cliJson<ContainerJson[]>(s, ['ps', '-n', 'team-a']);
  assert.deepEqual(a.map((c) => [c.id, c.namespace]), [['c1', 'team-a']]);
  assert.deepEqual(await cliJson<ContainerJson[]>(s, ['ps']), [], 'nothing in default');
  const b = await cliJson<ContainerJson>(s, ['inspect', 'c1', '-n', 'team-b']);
  assert.equal(b.namespace, 'team-b');
  assert.deepEqual(b.args.slice(-2), ['--namespace', 'team-a'], 'flags after `--` belong to the command');
  for (const ns of ['team-a', 'team-b']) assert.equal((await cli(s, ['rm', '-f', '-n', ns, 'c1'])).code, 0);
});

test('events: gap-free seqs, filters, --since as seq and as time; info --json', async () => {
  const d = await daemon();
  const s = d.socket;
  const t0 = Date.now();
  assert.equal((await cli(s, ['run', '--rm', '--runtime', 'process', 'e1', '--', '/bin/true'])).code, 0);
  assert.equal((await cli(s, ['run', '--rm', '--runtime', 'process', 'e2', '--', '/bin/sh', '-c', 'exit 2'])).code, 2);
  const all = await cli(s, ['--json', 'events']);
  assert.equal(all.code, 0);
  const events = jsonLines<EventJson>(all.stdout);
  assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1));
  assert.equal(events.length, (await readEvents(d)).length);
  const people = await cli(s, ['events']);
  assert.equal(people.stdout.trimEnd().split('\n').length, events.length);

  const e2 = jsonLines<EventJson>((await cli(s, ['events', '--json', '--filter', 'id=e2'])).stdout);
  assert.ok(e2.length > 0 && e2.every((e) => e.id === 'e2'));
  const exits = jsonLines<EventJson>((await cli(s, ['events', '--json', '--filter', 'type=TaskExited'])).stdout);
  assert.deepEqual(exits.map((e) => [e.id, e.data['exitCode']]), [['e1', 0], ['e2', 2]]);
  const from = events[5]!.seq;
  const tail = jsonLines<EventJson>((await cli(s, ['events', '--json', '--since', String(from)])).stdout);
  assert.deepEqual(tail.map((e) => e.seq), events.filter((e) => e.seq >= from).map((e) => e.seq));
  const sinceTime = jsonLines<EventJson>((await cli(s, ['events', '--json', '--since', new Date(t0).toISOString()])).stdout);
  assert.ok(sinceTime.some((e) => e.id === 'e1') && sinceTime.length <= events.length);
  const recent = jsonLines<EventJson>((await cli(s, ['events', '--json', '--since', '1h'])).stdout);
  assert.equal(recent.length, events.length);

  const info = await cliJson<{ pid: number; headSeq: number; socket: string; lastRecovery: Record<string, unknown> | null }>(s, ['info']);
  assert.equal(info.pid, d.child.pid);
  assert.equal(info.socket, s);
  assert.ok(info.headSeq >= events.at(-1)!.seq);
  assert.equal(typeof info.lastRecovery, 'object');
  assert.equal((await cli(s, ['info'])).code, 0);
});

test('refusals on streams end the call: exit 1 with the code, no hang', async () => {
  const d = await daemon();
  const timeoutMs = 10_000;
  const badFilter = await cli(d.socket, ['events', '--filter', 'type=NoSuchEvent'], { timeoutMs });
  assert.equal(badFilter.code, 1);
  assert.match(badFilter.stderr, /^chronicle: INVALID_ARGUMENT: .*\(field filters\)/);
  for (const args of [['logs', 'ghost'], ['logs', '-f', 'ghost']]) {
    const r = await cli(d.socket, args, { timeoutMs });
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, DAEMON_ERROR);
  }
});

test('events --follow outlives a daemon restart and prints each event once', async () => {
  const dir = tempDir();
  let d = await daemon({ dir });
  const s = d.socket;
  const follower = spawn(process.execPath, [CLI, '--socket', s, 'events', '--follow', '--json', '--since', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(follower);
  let out = '';
  let err = '';
  follower.stdout.on('data', (b: Buffer) => (out += b.toString()));
  follower.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const seen = () => jsonLines<EventJson>(out);
  const deleted = (id: string) => () => seen().some((e) => e.id === id && e.type === 'ContainerDeleted');

  assert.equal((await cli(s, ['run', '--rm', '--runtime', 'process', 'before', '--', '/bin/true'])).code, 0);
  await waitFor('the follower to see `before`', deleted('before'));
  await d.stop('SIGTERM');
  await new Promise((r) => setTimeout(r, 300)); // the follower is now dialling a dead socket
  d = await daemon({ dir });
  assert.equal((await cli(s, ['run', '--rm', '--runtime', 'process', 'after', '--', '/bin/true'])).code, 0);
  await waitFor('the follower to see `after`', deleted('after'), 20_000);
  const head = (await readEvents(d)).at(-1)!.seq;
  await waitFor('the follower to reach the head', () => (seen().at(-1)?.seq ?? 0) >= head);

  const code = await new Promise<number | null>((resolve) => {
    follower.once('exit', (c) => resolve(c));
    follower.kill('SIGINT');
  });
  assert.equal(code, 0, err);
  const seqs = seen().map((e) => e.seq);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'every seq once, in order, across the restart');
  assert.deepEqual(seqs, (await readEvents(d)).map((e) => e.seq).slice(0, seqs.length));
  assert.ok(seen().some((e) => e.type === 'DaemonStopped'));
});

test('chronicle daemon: chronicled in the foreground, SIGTERM forwarded, its exit code', async () => {
  const dir = tempDir();
  const sock = join(dir, 'state', 'chronicle.sock');
  const child = spawn(process.execPath, [CLI, 'daemon', '--root', join(dir, 'root'), '--state', join(dir, 'state'), ...DAEMON_FLAGS], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let log = '';
  child.stderr.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  try {
    await waitFor('chronicled under `chronicle daemon`', async () => existsSync(sock) && (await cli(sock, ['info'])).code === 0);
  } catch (e) {
    throw new Error(`${String(e)}\n${log}`);
  }
  const info = await cliJson<{ pid: number }>(sock, ['info']);
  assert.notEqual(info.pid, child.pid, 'chronicled is a child of the CLI');
  child.kill('SIGTERM');
  assert.equal(await exited, 0, log);
  assert.equal((await cli(sock, ['info'])).code, 1);
});

test('runc: run --rm with --rootfs (busybox), exit code passed through', async () => {
  const d = await daemon();
  const r = await cli(d.socket, ['run', '--rm', '--runtime', 'runc', '--rootfs', busyboxRootfs(), '--env', 'PATH=/bin', 'r1', '--', '/bin/sh', '-c', 'echo in-runc; exit 5']);
  assert.equal(r.code, 5, r.stderr);
  assert.equal(r.stdout, 'in-runc\n');
  assert.deepEqual(await cliJson<ContainerJson[]>(d.socket, ['ps']), []);
});

test('history commands: state --at, history, diff, audit --denied, verify, replay', async () => {
  const d = await daemon();
  const s = d.socket;
  assert.equal((await cli(s, ['run', '-d', '--runtime', 'process', 'h1', '--', '/bin/sleep', '1000'])).code, 0);
  assert.equal((await cli(s, ['pause', 'h1'])).code, 0);
  assert.equal((await cli(s, ['pause', 'h1'])).code, 1, 'pausing twice is refused');
  const events = await readEvents(d);
  const paused = events.find((e) => e.type === 'TaskPaused')!.seq;

  const before = await cliJson<{ seq: number; containers: { id: string; task?: { status: string } }[] }>(s, ['state', '--at', String(paused - 1)]);
  assert.equal(before.containers.find((c) => c.id === 'h1')?.task?.status, 'running');
  const at = await cli(s, ['state', '--at', String(paused)]);
  assert.match(at.stdout, /^state after seq \d+/);
  assert.match(at.stdout, /h1\s+paused/);

  const timeline = await cli(s, ['history', 'h1']);
  assert.match(timeline.stdout, /TaskPaused\s+\S+\s+paused/);
  const diff = await cliJson<{ changes: { id: string; kind: string; fromStatus: string; toStatus: string }[] }>(s, ['diff', String(paused - 1), String(paused)]);
  assert.deepEqual(diff.changes.map((c) => [c.id, c.kind, c.fromStatus, c.toStatus]), [['h1', 'transition', 'running', 'paused']]);

  const denied = jsonLines<{ outcome: string; request: { dataJson: string } }>((await cli(s, ['--json', 'audit', '--denied'])).stdout);
  assert.deepEqual(denied.map((r) => [r.outcome, (JSON.parse(r.request.dataJson) as { op: string }).op]), [['denied', 'tasks.Pause']]);
  const table = await cli(s, ['audit', '--op', 'tasks.Start']);
  assert.match(table.stdout, /tasks\.Start\s+h1\s+completed\s+TaskStarted/);

  const verify = await cli(s, ['verify']);
  assert.equal(verify.code, 0);
  assert.match(verify.stdout, /chain:\s+intact/);
  const replay = await cli(s, ['replay', '--from', String(paused), '--to', String(paused)]);
  assert.match(replay.stdout, /TaskPaused/);
  assert.match(replay.stdout, /h1: transition running -> paused/);
  assert.equal((await cli(s, ['state', '--at', 'soon'])).code, 1, 'a bad point is an error naming it');
  assert.equal((await cli(s, ['rm', '-f', 'h1'])).code, 0);
});
