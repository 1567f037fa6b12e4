// Recovery trusts the log, never the directories: a stray bundle or socket the log does not
// name is ignored; a shim the log names but that is gone, or that accepts and never answers,
// is reported lost without holding up start-up.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { busyboxRootfs } from '../support/busybox-bundle.js';
import { call, readEvents, startDaemon, type RunningDaemon, type TaskMsg } from '../support/daemon.js';
import { alive, waitFor } from '../support/shim-harness.js';

const started: RunningDaemon[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];
let dir = '';
after(async () => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
  for (const d of started) await d.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});


test('stray files are ignored; a vanished shim and a wedged one are lost; live ones come back', async () => {
  dir = mkdtempSync(join(tmpdir(), 'chr-rc-'));
  const first = await startDaemon({ dir, args: ['--shim-pool', '0'] });
  started.push(first);
  for (const id of ['live', 'gone', 'gone-runc', 'wedged']) {
    const spec = id === 'gone-runc' ? { id, runtime: 'runc', rootfs: busyboxRootfs(), args: ['/bin/sleep', '1000'] } : { id, runtime: 'process', args: ['/bin/sleep', '1000'] };
    await call(first.client('Containers'), 'Create', spec);
    await call(first.client('Tasks'), 'Create', { id });
    await call(first.client('Tasks'), 'Start', { id });
  }
  const tasks = (await call<{ tasks: TaskMsg[] }>(first.client('Tasks'), 'List', {})).tasks;
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const headBefore = (await call<{ seq: number }>(first.client('Events'), 'Head', {})).seq;
  await first.stop('SIGKILL');

  // While the daemon is down: two shims die and leave their containers running; one shim
  // dies with its container and its address is taken over by a server that accepts and
  // never answers; strays appear that the log never named.
  for (const id of ['gone', 'gone-runc', 'wedged']) {
    const t = byId.get(id)!;
    for (const pid of id === 'wedged' ? [t.pid, t.shimPid] : [t.shimPid]) process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(t.shimPid), 20_000, `${id}'s shim to die`);
  }
  for (const id of ['gone', 'gone-runc']) assert.ok(alive(byId.get(id)!.pid), `${id}'s container outlives its shim`);
  const wedgedAddress = byId.get('wedged')!.shimAddress;
  rmSync(wedgedAddress, { force: true });
  const wedged = createServer((s) => sockets.push(s)); // accepts, never speaks HTTP/2
  servers.push(wedged);
  await new Promise<void>((r) => wedged.listen(wedgedAddress, r));
  const strayBundle = join(first.state, 'bundles', 'default', 'stray');
  mkdirSync(strayBundle, { recursive: true });
  writeFileSync(join(strayBundle, 'config.json'), '{}');
  const straySocket = join(first.state, 's', 'stray.sock');
  const stray = createServer((s) => sockets.push(s));
  servers.push(stray);
  await new Promise<void>((r) => stray.listen(straySocket, r));

  const second = await startDaemon({ dir, args: ['--shim-pool', '0'] });
  started.push(second);
  const after = new Map((await call<{ tasks: TaskMsg[] }>(second.client('Tasks'), 'List', {})).tasks.map((t) => [t.id, t]));
  assert.equal(after.get('live')?.status, 'running');
  assert.equal(after.get('live')?.pid, byId.get('live')!.pid);
  for (const id of ['gone', 'gone-runc', 'wedged']) {
    assert.equal(after.get(id)?.status, 'exited', `${id} is no longer running`);
    assert.equal(after.get(id)?.exitReason, 'shim-lost');
    // What the lost shim supervised is gone too: no process, no socket, no runc state.
    await waitFor(() => !alive(byId.get(id)!.pid), 10_000, `${id}'s orphaned container process to be killed`);
    assert.ok(!existsSync(byId.get(id)!.shimAddress), `${id}'s socket is removed`);
  }
  const runcState = spawnSync('runc', ['--root', join(first.state, 'runc', 'default'), 'state', 'gone-runc'], { encoding: 'utf8' });
  assert.notEqual(runcState.status, 0, 'runc no longer knows the lost container');
  const events = await readEvents(second, headBefore + 1);
  const recovered = JSON.parse(events.find((e) => e.type === 'DaemonRecovered')!.dataJson) as { alive: number; lost: number };
  assert.equal(recovered.alive, 1);
  assert.equal(recovered.lost, 3);
  assert.equal(events.filter((e) => e.type === 'ShimLost').length, 3);
  assert.ok(!events.some((e) => e.id === 'stray' || e.dataJson.includes('stray')), 'nothing the log did not name is looked at');
  assert.ok(existsSync(strayBundle) && existsSync(straySocket), 'strays are left alone');
  const list = (await call<{ containers: { id: string }[] }>(second.client('Containers'), 'List', { labelFilters: [] })).containers.map((c) => c.id).sort();
  assert.deepEqual(list, ['gone', 'gone-runc', 'live', 'wedged']);
  for (const id of list) {
    await call(second.client('Tasks'), 'Delete', { id, force: true });
    await call(second.client('Containers'), 'Delete', { id });
  }
  await waitFor(() => !alive(byId.get('live')!.shimPid), 20_000, 'the live shim to exit after its Delete');
});
