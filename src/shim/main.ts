#!/usr/bin/env node
// chronicle-shim: started detached (its own session) by the daemon or a test. It becomes
// child subreaper, serves chronicle.shim.v1 on its socket, prints ONE handshake line on
// stdout, and from then on writes only to its log (stderr, a file). It exits when it
// hosts nothing more, removing its socket.
import { mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { shimAddress } from './address.js';
import { becomeChildSubreaper } from './ffi.js';
import { SHIM_VERSION, type Handshake } from './handshake.js';
import { shimService } from './proto.js';
import { shimImplementation } from './shim-server.js';
import { Supervisor } from './supervisor.js';
import { warmUp } from './warm-up.js';

const { values } = parseArgs({
  options: {
    ns: { type: 'string', default: 'default' },
    id: { type: 'string' },
    'state-dir': { type: 'string' },
    'runtime-binary': { type: 'string', default: 'runc' },
    'runc-root': { type: 'string' },
    // JSON lines go here (appended); default stderr, which the spawner points at a file too.
    log: { type: 'string' },
    // A warm-pool shim: it leaves by itself if its daemon dies before giving it work.
    pool: { type: 'boolean', default: false },
    // Who spawned it: a warm shim compares its parent with this (its parent may already be
    // gone by the time this code runs).
    'parent-pid': { type: 'string' },
  },
});
const stateDir = values['state-dir'];
const id = values.id;
if (!stateDir || !id) {
  process.stderr.write('usage: chronicle-shim --state-dir DIR --id ID [--ns NS] [--runtime-binary runc] [--runc-root DIR] [--log FILE]\n');
  process.exit(2);
}
const address = shimAddress(stateDir, values.ns, id);
const logFd = values.log ? openSync(values.log, 'a') : 2;
const log = (msg: string, extra: Record<string, unknown> = {}): void => {
  try {
    writeSync(logFd, `${JSON.stringify({ time: Date.now(), pid: process.pid, ns: values.ns, id, msg, ...extra })}\n`);
  } catch {
    // a full disk must not take the containers' supervisor down
  }
};

becomeChildSubreaper();
// A shim outlives its session's leader and its parent: hangups and Ctrl-C are not for it.
process.on('SIGHUP', () => undefined);
process.on('SIGINT', () => undefined);
process.on('SIGPIPE', () => undefined);

// No channelz bookkeeping per connection and call: no channelz service is served to read it.
const server = new Server({ 'grpc.enable_channelz': 0 });
let exiting = false;
const exit = (why: string): void => {
  if (exiting) return;
  exiting = true;
  log('exiting', { why });
  supervisor.reaper.stop();
  rmSync(address, { force: true });
  server.tryShutdown(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
const supervisor = new Supervisor({
  runtimeBinary: values['runtime-binary'],
  runcRoot: values['runc-root'] ?? `${stateDir}/runc`,
  // A warm-pool shim goes back to the pool when empty: its daemon gives it the next
  // container, or shuts it down (and it leaves by itself if that daemon is gone).
  onEmpty: () => (values.pool ? log('empty: back in the pool') : exit('hosts nothing more')),
});
server.addService(shimService().service, shimImplementation(supervisor, (force) => {
  if (force) void supervisor.killAll().finally(() => exit('forced shutdown'));
  else exit('shutdown');
}, log));
supervisor.supervise();
process.on('SIGTERM', () => {
  if (!supervisor.live) exit('SIGTERM');
});
if (values.pool) {
  const parent = Number(values['parent-pid'] ?? process.ppid);
  const timer = setInterval(() => {
    if (supervisor.size === 0 && process.ppid !== parent) exit('warm-pool shim orphaned while idle');
  }, 5000); // not every second: each wake-up of an idle shim costs ~3 ms of CPU here
  timer.unref();
  setImmediate(() => void warmUp(supervisor, values['runtime-binary']));
}
process.on('uncaughtException', (e) => log('uncaught', { err: e.stack ?? String(e) }));
process.on('unhandledRejection', (e) => log('unhandled rejection', { err: String(e) }));

mkdirSync(dirname(address), { recursive: true, mode: 0o711 });
rmSync(address, { force: true });
const oldMask = process.umask(0o177);
server.bindAsync(`unix://${address}`, ServerCredentials.createInsecure(), (err) => {
  process.umask(oldMask);
  if (err) {
    log('bind failed', { err: err.message });
    process.exit(1);
  }
  const hello: Handshake = { address, pid: process.pid, version: SHIM_VERSION };
  process.stdout.write(`${JSON.stringify(hello)}\n`);
  log('serving', { address });
});
