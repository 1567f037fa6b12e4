// A caller confined to some namespaces (namespaceLimits) sees and uses only those through
// the containerd API too: other namespaces are not listed, and using one is refused
// (PERMISSION_DENIED, audited).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readEvents, startDaemon, type RunningDaemon } from '../support/daemon.js';

let dir: string;
let d: RunningDaemon;
let socket: string;
const uid = process.getuid?.() ?? 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chr-ctrc-'));
  socket = join(dir, 'state', 'containerd.sock');
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ namespaceLimits: { [`uid:${uid}`]: ['team'] } }));
  // The readiness probe of startDaemon uses chronicle.v1 as uid N in "default", which this
  // config refuses: wait for the containerd socket to answer instead.
  d = await startDaemon({ dir, args: ['--config', config, '--containerd-socket', socket, '--shim-pool', '0'], waitReady: false });
  const deadline = Date.now() + 60_000;
  while (ctr('team', 'version').code !== 0) {
    if (Date.now() > deadline || d.child.exitCode !== null) throw new Error(`chronicled did not become ready:\n${d.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await d?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function ctr(ns: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('/usr/bin/ctr', ['--address', socket, '--namespace', ns, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a confined caller lists and creates only its namespaces; elsewhere it is refused and audited', async () => {
  assert.equal(ctr('team', 'ns', 'create', 'team').code, 0);
  const refused = ctr('team', 'ns', 'create', 'other');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /may not use namespace other/);
  assert.equal(ctr('other', 'c', 'ls').code, 1);
  const ls = ctr('team', 'ns', 'ls');
  assert.equal(ls.code, 0);
  assert.deepEqual(ls.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)[0]), ['team']);
  // On record, in "other": read back by an unconfined daemon on the same log.
  await d.stop();
  d = await startDaemon({ dir, args: ['--shim-pool', '0'] });
  const denied = (await readEvents(d)).filter((e) => e.type === 'RequestDenied' && e.actor.startsWith('containerd-api:'));
  assert.ok(denied.some((e) => e.namespace === 'other'), 'the refusal is on record');
});
