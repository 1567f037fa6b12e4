// What a lost shim leaves behind (DESIGN section 7): the shim process itself when it is
// wedged, the container processes it supervised, runc's state for them and its socket.
// Nothing here lists a directory: every target comes from the log (address, shim pid, task
// pid, runtime). A pid is signalled only after /proc shows it is still the process the
// log names, so a recycled pid is never hit.
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Logger } from '../log.js';
import type { ContainerView, ShimView, TaskView } from '../projections/state.js';

const run = promisify(execFile);

export interface CleanupDeps {
  stateDir: string;
  runtimeBinary: string;
  runcRootFor: (ns: string) => string;
  logger: Logger;
}

/** Kills and removes everything of `shim` and of the live tasks it hosted. Never throws. */
export async function cleanUpLostShim(deps: CleanupDeps, shim: ShimView, hosted: ContainerView[]): Promise<void> {
  if (shim.pid !== null && (await isShimOf(shim.pid, deps.stateDir))) signal(shim.pid, deps.logger);
  for (const c of hosted) {
    if (!c.task) continue;
    if (c.runtime === 'runc') await deleteRunc(deps, c.ns, c.id);
    else if (await isProcessTask(c.task)) signal(-c.task.pid, deps.logger);
  }
  // Only a socket inside our state dir: an address is a path the log names, nothing else.
  if (shim.address.startsWith(`${deps.stateDir}/`)) await rm(shim.address, { force: true }).catch(() => undefined);
}

/** True when `pid` runs chronicle-shim for this state dir (a wedged shim, not a recycled pid). */
async function isShimOf(pid: number, stateDir: string): Promise<boolean> {
  const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').then(
    (s) => s.split('\0'),
    (): string[] => [],
  );
  const i = argv.indexOf('--state-dir');
  return i >= 0 && argv[i + 1] === stateDir;
}

/**
 * A process-runtime task is the leader of its own process group, started just before its
 * TaskCreated; a pid that fails either test was recycled and belongs to someone else.
 */
async function isProcessTask(task: TaskView): Promise<boolean> {
  const stat = await readFile(`/proc/${task.pid}/stat`, 'utf8').catch(() => '');
  // Fields after the parenthesised command: state ppid pgrp ... starttime is field 22.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pgrp = Number(rest[2]);
  const startTicks = Number(rest[19]);
  if (!stat || pgrp !== task.pid || !Number.isFinite(startTicks)) return false;
  const bootMs = await bootTimeMs();
  const startedAt = bootMs + (startTicks / 100) * 1000; // USER_HZ is 100 on Linux
  return startedAt <= task.createdAt + 2000 && startedAt >= task.createdAt - 60_000;
}

async function bootTimeMs(): Promise<number> {
  const stat = await readFile('/proc/stat', 'utf8');
  const btime = /^btime (\d+)$/m.exec(stat)?.[1];
  return Number(btime) * 1000;
}

/** runc checks the container's own start time before it kills, so this is safe by pid. */
async function deleteRunc(deps: CleanupDeps, ns: string, id: string): Promise<void> {
  try {
    await run(deps.runtimeBinary, ['--root', deps.runcRootFor(ns), 'delete', '--force', id], { timeout: 10_000 });
  } catch (e) {
    // "container does not exist" is the common, harmless case
    deps.logger.debug({ id, err: String(e) }, 'runc delete of a lost task');
  }
}

function signal(pid: number, logger: Logger): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (e) {
    logger.debug({ pid, err: String(e) }, 'kill of a lost shim leftover');
  }
}
