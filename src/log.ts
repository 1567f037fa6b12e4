// Structured JSON logs (pino). Per-module tracers are switched on with
// CHRONICLE_TRACE=writer,replay (like grpc-js's GRPC_TRACE); they log at debug level.
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

export function createLogger(opts: { level?: LevelWithSilent; destination?: DestinationStream | number | string } = {}): Logger {
  const level = opts.level ?? 'info';
  const dest = opts.destination;
  if (dest === undefined) return pino({ level, base: { pid: process.pid } });
  if (typeof dest === 'object') return pino({ level, base: { pid: process.pid } }, dest);
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest, sync: false, mkdir: true }));
}

export const silentLogger: Logger = pino({ level: 'silent' });

/** True when CHRONICLE_TRACE names this module (or is `all`). */
export function tracing(module: string): boolean {
  const t = process.env['CHRONICLE_TRACE'];
  if (!t) return false;
  const names = t.split(',').map((s) => s.trim());
  return names.includes(module) || names.includes('all');
}
