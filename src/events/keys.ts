// The ONLY builder and parser of LevelDB keys. Layout (all keys are bytes):
//
//   log/<seq:8 BE>                      -> encoded event (codec.ts)
//   byid/<ns>\0<id>\0<seq:8 BE>         -> empty        (per-container history)
//   byactor/<actor %-encoded>\0<seq:8 BE> -> empty       (request records by actor: audit)
//   meta/byactor-from                   -> <seq:8 BE>   (the first seq the actor index covers)
//   meta/archives                       -> msgpack ArchiveEntry[] (what compaction moved out, in order)
//   snap/<seq:8 BE>                     -> projection snapshot bytes (state after <seq>)
//   meta/format                         -> format version (uint32 BE)
//   meta/head                           -> <seq:8 BE><hash:32>  (written in every batch)
//   aside/<n:6 decimal>/<seq:8 BE>      -> a record moved aside by repair number <n>
//   cursor/<name>                       -> a reader's cursor (e.g. fleet export)
//
// Sequence numbers are 8-byte big-endian everywhere, so byte order equals numeric order.
// ns and id match ^[A-Za-z0-9][A-Za-z0-9_.-]*$ and so never contain the \0 separator.

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');

export const PREFIX = {
  log: enc('log/'),
  byid: enc('byid/'),
  byactor: enc('byactor/'),
  snap: enc('snap/'),
  meta: enc('meta/'),
  aside: enc('aside/'),
  cursor: enc('cursor/'),
} as const;

export const META_FORMAT = enc('meta/format');
export const META_HEAD = enc('meta/head');
export const META_BYACTOR_FROM = enc('meta/byactor-from');
export const META_ARCHIVES = enc('meta/archives');

const TWO_32 = 2 ** 32;

/** Writes `seq` as 8 bytes big-endian at `offset` (two 32-bit halves: no BigInt per key). */
function writeSeq(b: Buffer, seq: number, offset: number): void {
  b.writeUInt32BE(Math.floor(seq / TWO_32), offset);
  b.writeUInt32BE(seq >>> 0, offset + 4);
}

export function seqBytes(seq: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeSeq(b, seq, 0);
  return b;
}

function readSeq(b: Buffer, offset: number): number {
  return b.readUInt32BE(offset) * TWO_32 + b.readUInt32BE(offset + 4);
}

/** `prefix` then the seq, in one buffer: every append builds one or two of these per event. */
function prefixedSeq(prefix: Buffer, seq: number): Buffer {
  const b = Buffer.allocUnsafe(prefix.length + 8);
  prefix.copy(b, 0);
  writeSeq(b, seq, prefix.length);
  return b;
}

export function logKey(seq: number): Buffer {
  return prefixedSeq(PREFIX.log, seq);
}

export function parseLogKey(key: Buffer): number {
  return readSeq(key, PREFIX.log.length);
}

/** Range bounds over log/ (gte..lte, both inclusive). */
export function logRange(fromSeq: number, toSeq: number): { gte: Buffer; lte: Buffer } {
  return { gte: logKey(fromSeq), lte: logKey(toSeq) };
}

/** byid/<ns>\0<id>\0 with `room` bytes after it: the one writer of that layout. */
function byIdBytes(ns: string, id: string, room: number): Buffer {
  const p = PREFIX.byid.length;
  const nsBytes = Buffer.byteLength(ns);
  const b = Buffer.allocUnsafe(p + nsBytes + 1 + Buffer.byteLength(id) + 1 + room);
  PREFIX.byid.copy(b, 0);
  b.write(ns, p);
  b[p + nsBytes] = 0;
  b[p + nsBytes + 1 + b.write(id, p + nsBytes + 1)] = 0;
  return b;
}

export function byIdPrefix(ns: string, id: string): Buffer {
  return byIdBytes(ns, id, 0);
}

export function byIdKey(ns: string, id: string, seq: number): Buffer {
  const b = byIdBytes(ns, id, 8);
  writeSeq(b, seq, b.length - 8);
  return b;
}

export function byIdRange(ns: string, id: string, fromSeq: number, toSeq: number): { gte: Buffer; lte: Buffer } {
  return { gte: byIdKey(ns, id, fromSeq), lte: byIdKey(ns, id, toSeq) };
}

export function parseByIdKey(key: Buffer): { ns: string; id: string; seq: number } {
  const start = PREFIX.byid.length;
  const sep1 = key.indexOf(0, start);
  const sep2 = key.indexOf(0, sep1 + 1);
  if (sep1 < 0 || sep2 < 0 || key.length !== sep2 + 1 + 8) throw new TypeError('not a byid key');
  return { ns: key.toString('utf8', start, sep1), id: key.toString('utf8', sep1 + 1, sep2), seq: readSeq(key, sep2 + 1) };
}

/** Actors are free text (a certificate's CN); %-encoding keeps \0 out of them. */
export function byActorKey(actor: string, seq: number): Buffer {
  return Buffer.concat([PREFIX.byactor, enc(encodeURIComponent(actor)), Buffer.of(0), seqBytes(seq)]);
}

export function byActorRange(actor: string, fromSeq: number, toSeq: number): { gte: Buffer; lte: Buffer } {
  return { gte: byActorKey(actor, fromSeq), lte: byActorKey(actor, toSeq) };
}

export function snapKey(seq: number): Buffer {
  return prefixedSeq(PREFIX.snap, seq);
}

export function parseSnapKey(key: Buffer): number {
  return readSeq(key, PREFIX.snap.length);
}

export function asideKey(repair: number, seq: number): Buffer {
  return Buffer.concat([asidePrefixOf(repair), seqBytes(seq)]);
}

export function asidePrefixOf(repair: number): Buffer {
  return enc(`aside/${String(repair).padStart(6, '0')}/`);
}

export function cursorKey(name: string): Buffer {
  return Buffer.concat([PREFIX.cursor, enc(name)]);
}

/** The smallest key greater than every key that starts with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i] = b[i]! + 1;
      return b.subarray(0, i + 1);
    }
  }
  throw new TypeError('prefix has no end');
}

export function encodeHead(seq: number, hash: Buffer): Buffer {
  return Buffer.concat([seqBytes(seq), hash]);
}

export function decodeHead(b: Buffer): { seq: number; hash: Buffer } {
  if (b.length !== 40) throw new TypeError('bad meta/head');
  return { seq: readSeq(b, 0), hash: Buffer.from(b.subarray(8, 40)) };
}
