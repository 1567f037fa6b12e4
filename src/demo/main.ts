#!/usr/bin/env node
// `npm start`: chronicle's main job with embedded defaults, on fresh temp dirs. It starts
// chronicled, runs one container through its whole lifecycle with the `chronicle` CLI (runc
// with a busybox rootfs when both are there, else the process runtime), prints the event
// log that lifecycle wrote, then leaves the daemon running for the CLI until Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryPoint } from '../entry-points.js';
import { BUSYBOX, buildBusyboxRootfs } from './busybox-rootfs.js';

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'chronicle-demo-'));
const socket = join(dir, 'state', 'chronicle.sock');
const daemonLog = join(dir, 'chronicled.log');
const cli = (args: string[]): number => {
  say(`\n$ chronicle ${args.map((x) => (/[\s;'"$]/.test(x) ? `'${x}'` : x)).join(' ')}`);
  return spawnSync(process.execPath, [entryPoint('chronicle'), '--socket', socket, ...args], { stdio: 'inherit' }).status ?? 1;
};

const useRunc = process.getuid?.() === 0 && spawnSync('runc', ['--version']).status === 0 && existsSync(BUSYBOX);
say(`chronicle demo: root ${join(dir, 'root')}, state ${join(dir, 'state')}, daemon log ${daemonLog}`);
const log = openSync(daemonLog, 'a');
const daemon = spawn(process.execPath, [entryPoint('chronicled'), '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--runtime', useRunc ? 'runc' : 'process'], {
  stdio: ['ignore', log, log],
});
const stopped = new Promise<number>((resolve) => daemon.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));

for (let i = 0; !existsSync(socket); i++) {
  if (daemon.exitCode !== null || i > 600) {
    say(`chronicled did not start; see ${daemonLog}`);
    process.exit(1);
  }
  await sleep(50);
}

const rootfs = useRunc ? ['--rootfs', buildBusyboxRootfs(join(dir, 'rootfs'))] : [];
const code = cli(['run', '--rm', ...rootfs, '--label', 'demo=yes', 'hello', '--', '/bin/sh', '-c', 'echo hello from a chronicle container; exit 3']);
say(`(the container exited with ${code}; run passed its code through)`);
cli(['events']);
cli(['info']);

say(`
chronicled keeps running (pid ${daemon.pid}). In another shell:
  alias chronicle='node ${entryPoint('chronicle')} --socket ${socket}'
  chronicle run -d ${rootfs.join(' ')} web -- /bin/sleep 1000
  chronicle ps; chronicle events --follow
Ctrl-C stops the daemon (containers and their shims keep running, as with containerd).`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => daemon.kill('SIGTERM'));
process.exit(await stopped);
