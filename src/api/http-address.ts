// The web UI's listen address as people write it: "PORT" (loopback), "HOST:PORT" or
// "[IPV6]:PORT". Pure: config.ts validates with it and http-server.ts listens on it.
import { isIP } from 'node:net';

export interface HttpAddress {
  host: string;
  port: number;
}

/** Parses `spec`, or returns undefined when it is not [host:]port with a port in 0..65535. */
export function parseHttpAddress(spec: string): HttpAddress | undefined {
  const m = /^(?:(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):)?(\d{1,5})$/.exec(spec.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65_535) return undefined;
  const host = m[1] ?? m[2] ?? '127.0.0.1';
  if (m[1] !== undefined && isIP(m[1]) !== 6) return undefined;
  return { host, port };
}

/** True for names that only this machine can reach: 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}
