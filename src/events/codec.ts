// The only msgpackr Packr of the log, and the canonical encoding of an event.
//
// A stored value is two msgpack items back to back:
//   body = [seq, ts, ns, id, type, v, data, actor, req|null, shimSeq|null, prev:bin32]
//   hash = bin32, where hash = sha256(prev ‖ body)
// The body is an array, so its field order is fixed by this file; the hash is over the
// stored bytes, so verification never re-encodes anything.
import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import { ChronicleError } from '../errors.js';
import { EVENT_DATA, EVENT_VERSIONS, type Envelope, type EventType, type Fact } from './schemas.js';
import { upcast } from './upcast.js';

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: 'number' });

export const ZERO_HASH = Buffer.alloc(32);
const HASH_TRAILER = 34; // 0xc4 0x20 + 32 bytes

export function pack(value: unknown): Buffer {
  return packr.pack(value);
}

export function unpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

export function sha256(prev: Buffer, body: Uint8Array): Buffer {
  return createHash('sha256').update(prev).update(body).digest();
}

export interface EncodedEvent {
  value: Buffer;
  hash: Buffer;
}

/** Encodes a fact committed at `seq`/`ts` after `prev`; returns the stored bytes and the hash. */
export function encodeEvent(fact: Fact, seq: number, ts: number, prev: Buffer): EncodedEvent {
  const body = packr.pack([
    seq,
    ts,
    fact.ns,
    fact.id,
    fact.type,
    EVENT_VERSIONS[fact.type],
    fact.data,
    fact.actor,
    fact.req ?? null,
    fact.shimSeq ?? null,
    prev,
  ]);
  const hash = sha256(prev, body);
  const value = Buffer.allocUnsafe(body.length + HASH_TRAILER);
  body.copy(value, 0);
  value[body.length] = 0xc4;
  value[body.length + 1] = 0x20;
  hash.copy(value, body.length + 2);
  return { value, hash };
}

/** Splits a stored value into its body and stored hash, or undefined if it is not shaped so. */
export function splitValue(value: Uint8Array): { body: Uint8Array; hash: Buffer } | undefined {
  const n = value.length - HASH_TRAILER;
  if (n <= 0 || value[n] !== 0xc4 || value[n + 1] !== 0x20) return undefined;
  return { body: value.subarray(0, n), hash: Buffer.from(value.buffer, value.byteOffset + n + 2, 32) };
}

/**
 * The envelope's fields, checked by hand: this runs for every event read (replay, time
 * travel), and a zod tuple costs about as much as everything else together. A malformed
 * body is still refused with the index of the first bad field.
 */
type Body = [number, number, string, string, EventType, number, unknown, string, string | null, number | null, Uint8Array];
const isUint = (x: unknown, min: number): x is number => typeof x === 'number' && Number.isInteger(x) && x >= min;
const FIELD_CHECKS: readonly ((x: unknown) => boolean)[] = [
  (x) => isUint(x, 1),
  (x) => isUint(x, 0),
  (x) => typeof x === 'string',
  (x) => typeof x === 'string',
  (x) => typeof x === 'string' && isEventType(x),
  (x) => isUint(x, 1),
  () => true,
  (x) => typeof x === 'string',
  (x) => x === null || typeof x === 'string',
  (x) => x === null || isUint(x, 0),
  (x) => x instanceof Uint8Array && x.length === 32,
];

function checkBody(raw: unknown): { ok: true; body: Body } | { ok: false; field: string } {
  if (!Array.isArray(raw) || raw.length !== FIELD_CHECKS.length) return { ok: false, field: 'length' };
  for (let i = 0; i < FIELD_CHECKS.length; i++) if (!FIELD_CHECKS[i]!(raw[i])) return { ok: false, field: String(i) };
  return { ok: true, body: raw as Body };
}

export type DecodeResult = { ok: true; event: Envelope } | { ok: false; reason: string };

/**
 * Decodes and validates one stored value (zod: envelope, then the data of its type after
 * upcasting). Never throws: a bad record is a result the caller reports with its seq.
 */
export function decodeEvent(value: Uint8Array): DecodeResult {
  const parts = splitValue(value);
  if (!parts) return { ok: false, reason: 'record has no hash trailer' };
  let raw: unknown;
  try {
    raw = packr.unpack(parts.body);
  } catch (e) {
    return { ok: false, reason: `undecodable record: ${e instanceof Error ? e.message : String(e)}` };
  }
  const body = checkBody(raw);
  if (!body.ok) return { ok: false, reason: `bad envelope at ${body.field}` };
  const [seq, ts, ns, id, type, v, data, actor, req, shimSeq, prev] = body.body;
  const lifted = upcast(type, v, data);
  const parsed = EVENT_DATA[type].safeParse(lifted);
  if (!parsed.success) {
    return { ok: false, reason: `bad ${type} data at ${parsed.error.issues[0]?.path.join('.') ?? '?'}` };
  }
  const event = {
    seq,
    ts,
    ns,
    id,
    type,
    v: EVENT_VERSIONS[type],
    data: parsed.data,
    actor,
    ...(req !== null ? { req } : {}),
    ...(shimSeq !== null ? { shimSeq } : {}),
    prev: Buffer.from(prev.buffer, prev.byteOffset, prev.byteLength).toString('hex'),
    hash: parts.hash.toString('hex'),
  } as Envelope;
  return { ok: true, event };
}

/** decodeEvent for records already known good (the tail was verified): throws DATA_LOSS-class errors. */
export function decodeEventOrThrow(value: Uint8Array, seq: number): Envelope {
  const r = decodeEvent(value);
  if (!r.ok) throw new ChronicleError('CHAIN_BROKEN', `event ${seq}: ${r.reason}`, { seq });
  return r.event;
}

export function isEventType(t: string): t is EventType {
  return Object.hasOwn(EVENT_DATA, t);
}
