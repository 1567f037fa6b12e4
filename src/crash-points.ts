// Named crash points for fault tests (DESIGN section 11). The environment variable is read
// only here, only when a point is reached: `CHRONICLE_CRASH_AT=log.after-write` makes the
// process SIGKILL itself the first time it passes that point. Nothing happens otherwise.

export const CRASH_POINTS = [
  'log.before-write',
  'log.after-write',
  'shim.after-spawn',
  'task.after-start',
  'task.after-kill',
  'task.after-delete',
  'checkpoint.after-dump',
  'restore.after-restore',
  'recovery.middle',
  'compact.after-record',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

export function crashPoint(name: CrashPoint): void {
  if (process.env['CHRONICLE_CRASH_AT'] !== name) return;
  process.kill(process.pid, 'SIGKILL');
}
