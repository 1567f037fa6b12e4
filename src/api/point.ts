// A point in the log as people write it: a seq ("1234"), an RFC 3339 time, a time relative
// to now ("90s", "10m", "2h", "1d" ago) or "" for the head. Pure: `now` is given.
import { ChronicleError } from '../errors.js';

export type Point = { kind: 'head' } | { kind: 'seq'; seq: number } | { kind: 'time'; ts: number };

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses `spec`, or throws INVALID_ARGUMENT naming `field`. */
export function parsePoint(spec: string, now: number, field: string): Point {
  const s = spec.trim();
  if (s === '' || s === 'head') return { kind: 'head' };
  if (/^\d+$/.test(s)) {
    const seq = Number(s);
    if (Number.isSafeInteger(seq)) return { kind: 'seq', seq };
  }
  const rel = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s);
  if (rel) return { kind: 'time', ts: Math.round(now - Number(rel[1]) * UNIT_MS[rel[2]!]!) };
  if (RFC3339.test(s)) {
    const ts = Date.parse(s);
    if (Number.isFinite(ts)) return { kind: 'time', ts };
  }
  throw new ChronicleError('INVALID_ARGUMENT', `invalid ${field}: ${JSON.stringify(spec)} is not a seq, an RFC 3339 time or a duration such as 10m`, { field });
}
