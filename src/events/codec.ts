// The only msgpackr Packr of the log, and the canonical encoding of an event.
//
// A stored value is two msgpack items back to back:
//   body = [seq, ts, ns, id, type, v, data, actor, req|null, shimSeq|null, prev:bin32]
//   hash = bin32, where hash = sha256(prev ‖ body)
// The body is an array, so its field order is fixed by this file; the hash is over the
// stored bytes, so verification never re-encodes anything.
import * as crypto from 'node:crypto';
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

// crypto.hash (Node >= 20.12) hashes in one call, without a Hash object per event: half the
// time of createHash().update().update().digest() here (1.5 vs 3.0 us for 232 bytes).
const oneShot = typeof crypto.hash === 'function' ? crypto.hash : undefined;
// prev ‖ body is copied here first: hashing is synchronous, so one buffer serves every call.
let scratch = Buffer.allocUnsafe(4096);

export function sha256(prev: Buffer, body: Uint8Array): Buffer {
  if (!oneShot) return crypto.createHash('sha256').update(prev).update(body).digest();
  const n = prev.length + body.length;
  if (scratch.length < n) scratch = Buffer.allocUnsafe(Math.max(n, 2 * scratch.length));
  prev.copy(scratch, 0);
  scratch.set(body, prev.length);
  return oneShot('sha256', scratch.subarray(0, n), 'buffer');
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
 * The envelope's fields, checked by hand (a zod tuple cost about as much as everything else
 * together): the fast path below checks them as it reads; a body it cannot read is unpacked
 * by msgpackr and checked here, which names the first bad field.
 */
type Fields = [number, number, string, string, EventType, number, unknown, string, string | null, number | null];
type Body = [...Fields, Uint8Array];
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
 * Decodes and validates one stored value: the envelope's fields by hand, then the data of
 * its type with zod after upcasting. Never throws: a bad record is a result the caller
 * reports with its seq.
 *
 * Most records take the fast path (readBody below), which reads the body's msgpack in
 * place; a body it does not recognise (an encoding this codec never writes, a truncation,
 * a bad field) goes through msgpackr and checkBody, which also name what is wrong.
 */
export function decodeEvent(value: Uint8Array): DecodeResult {
  const r = decodeRecord(value);
  return typeof r === 'string' ? { ok: false, reason: r } : { ok: true, event: r };
}

/** decodeEvent without the result wrapper: the event, or why the record is bad. */
export function decodeRecord(value: Uint8Array): Envelope | string {
  const buf = asBuffer(value);
  const n = buf.length - HASH_TRAILER;
  if (n <= 0 || buf[n] !== 0xc4 || buf[n + 1] !== 0x20) return 'record has no hash trailer';
  let body: Fields | Body | undefined = readBody(buf, n);
  let prevHex: string;
  if (body !== undefined) {
    prevHex = hexOfPrev(buf, n - 32); // the fast path checked that prev ends the body
  } else {
    let raw: unknown;
    try {
      raw = packr.unpack(buf.subarray(0, n));
    } catch (e) {
      return `undecodable record: ${e instanceof Error ? e.message : String(e)}`;
    }
    const checked = checkBody(raw);
    if (!checked.ok) return `bad envelope at ${checked.field}`;
    body = checked.body;
    prevHex = hexOfPrev(asBuffer(checked.body[10]), 0);
  }
  const [seq, ts, ns, id, type, v, data, actor, req, shimSeq] = body;
  const { schema, version } = TYPES.get(type)!;
  const lifted = v === version ? data : upcast(type, v, data); // only older versions are lifted
  const parsed = schema.safeParse(lifted);
  if (!parsed.success) return `bad ${type} data at ${parsed.error.issues[0]?.path.join('.') ?? '?'}`;
  const hashHex = rememberHash(buf, n + 2);
  // One literal per shape (same key order as before), so every event has one of four maps.
  const event =
    req === null
      ? shimSeq === null
        ? { seq, ts, ns, id, type, v: version, data: parsed.data, actor, prev: prevHex, hash: hashHex }
        : { seq, ts, ns, id, type, v: version, data: parsed.data, actor, shimSeq, prev: prevHex, hash: hashHex }
      : shimSeq === null
        ? { seq, ts, ns, id, type, v: version, data: parsed.data, actor, req, prev: prevHex, hash: hashHex }
        : { seq, ts, ns, id, type, v: version, data: parsed.data, actor, req, shimSeq, prev: prevHex, hash: hashHex };
  return event as Envelope;
}

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

// Buffer's own slicers (what toString(encoding, start, end) calls after its argument checks).
type Slicer = (this: Buffer, start: number, end: number) => string;
const proto = Buffer.prototype as unknown as Record<string, unknown>;
const utf8Slice: Slicer = typeof proto['utf8Slice'] === 'function' ? (proto['utf8Slice'] as Slicer) : function (this: Buffer, s, e) { return this.toString('utf8', s, e); };
const hexSlice: Slicer = typeof proto['hexSlice'] === 'function' ? (proto['hexSlice'] as Slicer) : function (this: Buffer, s, e) { return this.toString('hex', s, e); };

// --- hex of the chain ------------------------------------------------------------------
// Records are mostly decoded in seq order, and each one's prev is the hash of the one
// before: the last hash decoded (bytes and hex) is kept, and a prev with the same bytes
// reuses its hex instead of converting it again.
const lastHash = new Uint8Array(32); // a copy: the caller may reuse its buffer
let lastHashHex = ZERO_HASH.toString('hex');

function rememberHash(buf: Buffer, at: number): string {
  for (let i = 0; i < 32; i++) lastHash[i] = buf[at + i]!;
  lastHashHex = hexSlice.call(buf, at, at + 32);
  return lastHashHex;
}

function hexOfPrev(buf: Buffer, at: number): string {
  for (let i = 0; i < 32; i++) if (buf[at + i] !== lastHash[i]) return hexSlice.call(buf, at, at + 32);
  return lastHashHex;
}

// --- the fast path ---------------------------------------------------------------------
// A reader of exactly the msgpack this codec writes (msgpackr with useRecords: false and
// mapsAsObjects), producing what packr.unpack would (for valid UTF-8). Anything else (ext
// types, bin inside data, non-string map keys, a truncation, trailing bytes, a field of the
// wrong type) gives up, and decodeEvent takes msgpackr's path, which reports the fault.
const NO = Symbol('not on the fast path');
const MAX_DEPTH = 64;
let src: Buffer = ZERO_HASH;
let pos = 0;
let end = 0;

/** The checked fields of a body that ends at `bodyEnd` with its prev, or undefined. */
function readBody(buf: Buffer, bodyEnd: number): Fields | undefined {
  src = buf;
  pos = 0;
  end = bodyEnd;
  try {
    return readFields();
  } finally {
    src = ZERO_HASH; // keep no record alive
  }
}

function readFields(): Fields | undefined {
  if (end < 1 || src[pos++] !== 0x9b) return undefined; // fixarray of 11
  const seq = readUint();
  const ts = readUint();
  if (seq < 1 || ts < 0) return undefined;
  const ns = readStr(true);
  const id = readStr(true);
  const type = readStr(true);
  if (ns === undefined || id === undefined || type === undefined || !isEventType(type)) return undefined;
  const v = readUint();
  if (v < 1) return undefined;
  const data = readValue(0);
  if (data === NO) return undefined;
  const actor = readStr(true);
  if (actor === undefined) return undefined;
  let req: string | null = null;
  if (pos < end && src[pos] === 0xc0) pos++;
  else {
    const r = readStr();
    if (r === undefined) return undefined;
    req = r;
  }
  let shimSeq: number | null = null;
  if (pos < end && src[pos] === 0xc0) pos++;
  else {
    shimSeq = readUint();
    if (shimSeq < 0) return undefined;
  }
  // prev: bin 8 of 32 bytes, and then nothing (decodeRecord reads it in place).
  if (pos + 34 !== end || src[pos] !== 0xc4 || src[pos + 1] !== 0x20) return undefined;
  return [seq, ts, ns, id, type, v, data, actor, req, shimSeq];
}

/** A non-negative integer (any msgpack number form holding one), or -1. */
function readUint(): number {
  if (pos >= end) return -1;
  const b = src[pos]!;
  if (b < 0x80) {
    pos++;
    return b;
  }
  const n = readValue(MAX_DEPTH); // a scalar: depth does not matter
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : -1;
}

/** A string (any msgpack str form), or undefined; `intern` for fields whose values repeat. */
function readStr(intern = false): string | undefined {
  if (pos >= end) return undefined;
  const b = src[pos]!;
  let len: number;
  let at: number;
  if (b >= 0xa0 && b < 0xc0) {
    len = b - 0xa0;
    at = pos + 1;
  } else if (b === 0xd9 && pos + 1 < end) {
    len = src[pos + 1]!;
    at = pos + 2;
  } else if (b === 0xda && pos + 2 < end) {
    len = src.readUInt16BE(pos + 1);
    at = pos + 3;
  } else if (b === 0xdb && pos + 4 < end) {
    len = src.readUInt32BE(pos + 1);
    at = pos + 5;
  } else return undefined;
  if (at + len > end) return undefined;
  pos = at + len;
  if (len === 0) return '';
  return intern && len <= INTERN_MAX ? interned(at, len) : utf8Slice.call(src, at, pos);
}

// Namespaces, ids, types, actors, data keys and most short data strings (ops, paths, shim
// addresses) repeat from one record to the next: a small table of recent ASCII strings,
// checked byte by byte, saves making each of them again. Request ids never repeat.
const INTERN_MAX = 40;
const INTERN_SLOTS = 1024;
const internTable: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);

function interned(at: number, len: number): string {
  const slot = (len * 31 + src[at]! * 7 + src[at + len - 1]! * 131 + src[at + (len >> 1)]! * 17) & (INTERN_SLOTS - 1);
  const known = internTable[slot];
  if (known !== undefined && known.length === len) {
    let i = 0;
    while (i < len && known.charCodeAt(i) === src[at + i]) i++;
    if (i === len) return known; // every byte equals its char, so the bytes were ASCII
  }
  const s: string = utf8Slice.call(src, at, at + len);
  if (s.length === len) internTable[slot] = s; // only ASCII can ever match byte by byte
  return s;
}

/** Any value of an event's data: nil, booleans, numbers, strings, arrays and string-keyed maps. */
function readValue(depth: number): unknown {
  if (pos >= end) return NO;
  const b = src[pos]!;
  if (b < 0x80) {
    pos++;
    return b;
  }
  if (b >= 0xe0) {
    pos++;
    return b - 0x100;
  }
  if (b >= 0xa0 && b < 0xc0) return readStrOrNo();
  if (b < 0x90) {
    pos++;
    return readMap(b - 0x80, depth);
  }
  if (b < 0xa0) {
    pos++;
    return readArray(b - 0x90, depth);
  }
  const room = end - pos - 1;
  switch (b) {
    case 0xc0:
      pos++;
      return null;
    case 0xc2:
      pos++;
      return false;
    case 0xc3:
      pos++;
      return true;
    case 0xcb:
      if (room < 8) return NO;
      pos += 9;
      return src.readDoubleBE(pos - 8);
    case 0xcc:
      if (room < 1) return NO;
      pos += 2;
      return src[pos - 1]!;
    case 0xcd:
      if (room < 2) return NO;
      pos += 3;
      return src.readUInt16BE(pos - 2);
    case 0xce:
      if (room < 4) return NO;
      pos += 5;
      return src.readUInt32BE(pos - 4);
    case 0xcf: // int64AsType: 'number', computed as msgpackr does
      if (room < 8) return NO;
      pos += 9;
      return src.readUInt32BE(pos - 8) * 0x100000000 + src.readUInt32BE(pos - 4);
    case 0xd0:
      if (room < 1) return NO;
      pos += 2;
      return src.readInt8(pos - 1);
    case 0xd1:
      if (room < 2) return NO;
      pos += 3;
      return src.readInt16BE(pos - 2);
    case 0xd2:
      if (room < 4) return NO;
      pos += 5;
      return src.readInt32BE(pos - 4);
    case 0xd3:
      if (room < 8) return NO;
      pos += 9;
      return src.readInt32BE(pos - 8) * 0x100000000 + src.readUInt32BE(pos - 4);
    case 0xd9:
    case 0xda:
    case 0xdb:
      return readStrOrNo();
    case 0xdc:
      if (room < 2) return NO;
      pos += 3;
      return readArray(src.readUInt16BE(pos - 2), depth);
    case 0xde:
      if (room < 2) return NO;
      pos += 3;
      return readMap(src.readUInt16BE(pos - 2), depth);
    default:
      return NO; // bin, ext, float32, 32-bit sized arrays and maps: msgpackr's path
  }
}

function readStrOrNo(): string | typeof NO {
  const s = readStr(true);
  return s === undefined ? NO : s;
}

function readArray(n: number, depth: number): unknown {
  if (depth >= MAX_DEPTH || n > end - pos) return NO;
  const out: unknown[] = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const x = readValue(depth + 1);
    if (x === NO) return NO;
    out[i] = x;
  }
  return out;
}

function readMap(n: number, depth: number): unknown {
  if (depth >= MAX_DEPTH || 2 * n > end - pos) return NO;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const key = readStr(true);
    if (key === undefined || key === '__proto__') return NO; // msgpackr renames that key
    const x = readValue(depth + 1);
    if (x === NO) return NO;
    out[key] = x;
  }
  return out;
}

/** decodeEvent for records already known good (the tail was verified): throws DATA_LOSS-class errors. */
export function decodeEventOrThrow(value: Uint8Array, seq: number): Envelope {
  const r = decodeRecord(value);
  if (typeof r === 'string') throw new ChronicleError('CHAIN_BROKEN', `event ${seq}: ${r}`, { seq });
  return r;
}

export function isEventType(t: string): t is EventType {
  return TYPES.has(t);
}

/** Each type's data schema and current version, by name (a Map: the names are read per event). */
const TYPES: ReadonlyMap<string, { schema: (typeof EVENT_DATA)[EventType]; version: number }> = new Map(
  (Object.keys(EVENT_DATA) as EventType[]).map((t) => [t, { schema: EVENT_DATA[t], version: EVENT_VERSIONS[t] }]),
);
