// `daemon`: chronicled in the foreground (stdio inherited), SIGINT/SIGTERM forwarded, its
// exit code ours. Loads nothing of the daemon into this process.
import { spawn } from 'node:child_process';
import { entryPoint } from '../../entry-points.js';
import type { Ctx } from '../context.js';
import { signalNumber } from '../signals.js';

export const DAEMON_MAIN = entryPoint('chronicled');

/** chronicled's argv: ours verbatim, plus a --socket given to chronicle itself. */
export function daemonArgs(socket: string | undefined, argv: readonly string[]): string[] {
  const has = argv.some((a) => a === '--socket' || a.startsWith('--socket='));
  return socket !== undefined && !has ? ['--socket', socket, ...argv] : [...argv];
}

export async function daemon(ctx: Ctx, argv: string[]): Promise<number> {
  const child = spawn(process.execPath, [DAEMON_MAIN, ...daemonArgs(ctx.globals.socketFlag ? ctx.globals.socket : undefined, argv)], { stdio: 'inherit' });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (signalNumber(signal) ?? 0) : 0)));
    });
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}
