// The archive file that compaction writes: the records it removes from LevelDB, byte for
// byte as they were stored (body + hash trailer), so the same ChainChecker verifies them.
//
//   "CHRONARC" | { u32 BE length | record }* | header (msgpack) | u32 BE header length | "CHRONEND"
//
// The header goes last so that the file is written in one pass; a file cut short has no
// end marker and is refused. It names the range, the hash before it (`prev`) and the last
// hash; the record after the range, still in LevelDB, has that last hash as its prev, which
// ties the archive to the live chain. `startSnapshot` is the projection after fromSeq - 1,
// and the projection snapshots the log held inside the range are kept too (their bytes after
// the records, their places in the header), so the state at an archived seq costs what it
// cost before compaction: the newest snapshot at or before it plus a short fold.
import { createHash } from 'node:crypto';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as z from 'zod';
import { ChronicleError } from '../errors.js';
import { decodeEventOrThrow, pack, unpack } from './codec.js';
import { ChainChecker } from './hash-chain.js';
import type { Envelope } from './schemas.js';

const MAGIC = Buffer.from('CHRONARC', 'latin1');
const END = Buffer.from('CHRONEND', 'latin1');
export const ARCHIVE_FORMAT = 1;
const READ_BYTES = 1 << 20;
const Hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits');

export const ArchiveHeader = z.object({
  format: z.literal(ARCHIVE_FORMAT),
  fromSeq: z.number().int().positive(),
  toSeq: z.number().int().positive(),
  count: z.number().int().positive(),
  prev: Hex32,
  lastHash: Hex32,
  firstTs: z.number(),
  lastTs: z.number(),
  createdAt: z.number(),
  startSnapshot: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes').optional(),
  /** Snapshots inside the range: the state after `seq`, its bytes at [at, at+length), and where record seq+1 starts. */
  snapshots: z
    .array(z.object({ seq: z.number().int().positive(), at: z.number().int().nonnegative(), length: z.number().int().nonnegative(), next: z.number().int().nonnegative() }))
    .default([]),
});
export type ArchiveHeader = z.infer<typeof ArchiveHeader>;

/** What the log keeps of an archive it wrote (meta/archives): enough to find and check it. */
export const ArchiveEntry = ArchiveHeader.pick({ fromSeq: true, toSeq: true, count: true, prev: true, lastHash: true, firstTs: true, lastTs: true }).extend({
  path: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: Hex32,
});
export type ArchiveEntry = z.infer<typeof ArchiveEntry>;

export interface ArchiveSource {
  fromSeq: number;
  toSeq: number;
  prev: Buffer;
  startSnapshot?: Buffer;
  /** Projection snapshots taken inside [fromSeq, toSeq] (state after seq), in seq order. */
  snapshots?: () => AsyncIterable<{ seq: number; bytes: Buffer }>;
  /** Seqs of those snapshots, known before the records are copied (to note where each resumes). */
  snapshotSeqs?: readonly number[];
  /** The stored records over [fromSeq, toSeq], in seq order, a chunk at a time. */
  records: AsyncIterable<Buffer[]>;
}

/**
 * Writes the archive to `path` (a temp file, fsynced, renamed, then the directory fsynced)
 * after checking the chain of every record it copies.
 */
export async function writeArchive(path: string, src: ArchiveSource): Promise<ArchiveEntry> {
  const tmp = `${path}.tmp`;
  const checker = new ChainChecker(src.fromSeq - 1, src.prev);
  const digest = createHash('sha256');
  let firstTs: number | undefined;
  let count = 0;
  let header: ArchiveHeader;
  const out = await open(tmp, 'w');
  try {
    const write = async (b: Buffer): Promise<void> => {
      digest.update(b);
      await out.write(b);
    };
    await write(MAGIC);
    let pos = MAGIC.length;
    // Where the record after each snapshot starts: a fold from that snapshot seeks there.
    const resumeAt = new Map((src.snapshotSeqs ?? []).map((seq) => [seq + 1, -1]));
    for await (const chunk of src.records) {
      const parts: Buffer[] = [];
      for (const value of chunk) {
        const e = checker.check(src.fromSeq + count, value);
        if (!e) throw new ChronicleError('CHAIN_BROKEN', `cannot archive: event ${checker.fault?.seq ?? '?'}: ${checker.fault?.reason ?? 'bad record'}`);
        firstTs ??= e.ts;
        count++;
        if (resumeAt.has(e.seq)) resumeAt.set(e.seq, pos);
        parts.push(u32(value.length), value);
        pos += 4 + value.length;
      }
      await write(Buffer.concat(parts));
    }
    const snapshots: ArchiveHeader['snapshots'] = [];
    for await (const snap of src.snapshots?.() ?? []) {
      if (snap.seq < src.fromSeq || snap.seq > src.toSeq) continue;
      const next = snap.seq === src.toSeq ? pos : resumeAt.get(snap.seq + 1);
      if (next === undefined || next < 0) continue; // not announced in snapshotSeqs: skip it
      snapshots.push({ seq: snap.seq, at: pos, length: snap.bytes.length, next });
      await write(snap.bytes);
      pos += snap.bytes.length;
    }
    const fault = checker.finish(src.toSeq);
    if (fault) throw new ChronicleError('CHAIN_BROKEN', `cannot archive: event ${fault.seq}: ${fault.reason}`, { seq: fault.seq });
    header = {
      format: ARCHIVE_FORMAT,
      fromSeq: src.fromSeq,
      toSeq: src.toSeq,
      count,
      prev: src.prev.toString('hex'),
      lastHash: checker.lastHash.toString('hex'),
      firstTs: firstTs ?? 0,
      lastTs: checker.lastTs,
      createdAt: Date.now(),
      ...(src.startSnapshot ? { startSnapshot: src.startSnapshot } : {}),
      snapshots,
    };
    const headerBytes = pack(header);
    await write(Buffer.concat([headerBytes, u32(headerBytes.length), END]));
    await out.sync();
  } catch (e) {
    await out.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await out.close();
  await rename(tmp, path);
  await fsyncDir(dirname(path));
  const { size } = await stat(path);
  const h = header;
  return { path, fromSeq: h.fromSeq, toSeq: h.toSeq, count, prev: h.prev, lastHash: h.lastHash, firstTs: h.firstTs, lastTs: h.lastTs, bytes: size, sha256: digest.digest('hex') };
}

/** An open archive: its header, and its records as stored values, a chunk at a time. */
export class ArchiveReader implements AsyncDisposable {
  readonly #fh: FileHandle;
  /** Where the records end and the header begins. */
  readonly #recordsEnd: number;

  private constructor(
    readonly path: string,
    readonly header: ArchiveHeader,
    fh: FileHandle,
    recordsEnd: number,
  ) {
    this.#fh = fh;
    this.#recordsEnd = recordsEnd;
  }

  static async open(path: string): Promise<ArchiveReader> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw new ChronicleError('FAILED_PRECONDITION', `the archive ${path} cannot be opened: ${(e as Error).message}`, { path }, { cause: e });
    }
    try {
      const { size } = await fh.stat();
      const ends = Buffer.alloc(12);
      const magic = Buffer.alloc(8);
      await fh.read(magic, 0, 8, 0);
      if (size < 28 || !magic.equals(MAGIC)) throw new ChronicleError('CHAIN_BROKEN', `${path} is not a chronicle archive`, { path });
      await fh.read(ends, 0, 12, size - 12);
      if (!ends.subarray(4).equals(END)) throw new ChronicleError('CHAIN_BROKEN', `${path} is truncated (no end marker)`, { path });
      const len = ends.readUInt32BE(0);
      const headerAt = size - 12 - len;
      if (headerAt < 8) throw new ChronicleError('CHAIN_BROKEN', `${path}: bad header length`, { path });
      const raw = Buffer.alloc(len);
      await fh.read(raw, 0, len, headerAt);
      const header = ArchiveHeader.safeParse(unpackSafe(raw));
      if (!header.success) throw new ChronicleError('CHAIN_BROKEN', `${path}: bad header at ${header.error.issues[0]?.path.join('.') ?? '?'}`, { path });
      return new ArchiveReader(path, header.data, fh, header.data.snapshots[0]?.at ?? headerAt);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** The stored records in order, up to 1000 per chunk. */
  async *values(from = MAGIC.length): AsyncGenerator<Buffer[]> {
    let pos = from;
    let carry = Buffer.alloc(0);
    const buf = Buffer.allocUnsafe(READ_BYTES);
    for (;;) {
      const { bytesRead } = await this.#fh.read(buf, 0, Math.min(buf.length, this.#recordsEnd - pos), pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : Buffer.from(buf.subarray(0, bytesRead));
      const chunk: Buffer[] = [];
      let at = 0;
      while (at + 4 <= data.length) {
        const len = data.readUInt32BE(at);
        if (at + 4 + len > data.length) break;
        chunk.push(data.subarray(at + 4, at + 4 + len));
        at += 4 + len;
        if (chunk.length === 1000) yield chunk.splice(0);
      }
      if (chunk.length) yield chunk;
      carry = data.subarray(at);
    }
    if (carry.length) throw new ChronicleError('CHAIN_BROKEN', `${this.path}: a record runs into the header`, { path: this.path });
  }

  /** Events over [fromSeq, toSeq] (within this archive), decoded, a chunk at a time. */
  async *events(fromSeq: number, toSeq: number): AsyncGenerator<Envelope[]> {
    yield* this.#eventsFrom(this.header.fromSeq, MAGIC.length, fromSeq, toSeq);
  }

  /**
   * The state after `seq` as the newest snapshot at or before it left it (the start snapshot
   * or one from inside the archive), and the events after that snapshot up to `seq`.
   */
  async startFor(seq: number): Promise<{ snapshot: Uint8Array | undefined; events: AsyncGenerator<Envelope[]> }> {
    const snap = this.header.snapshots.findLast((x) => x.seq <= seq);
    if (!snap) return { snapshot: this.header.startSnapshot, events: this.events(this.header.fromSeq, seq) };
    const bytes = Buffer.alloc(snap.length);
    await this.#fh.read(bytes, 0, snap.length, snap.at);
    return { snapshot: bytes, events: this.#eventsFrom(snap.seq + 1, snap.next, snap.seq + 1, seq) };
  }

  /** The stored records over [fromSeq, toSeq] (within this archive), as they are, a chunk at a time. */
  storedValues(fromSeq: number, toSeq: number): AsyncGenerator<{ firstSeq: number; values: Buffer[] }> {
    return this.#storedFrom(this.header.fromSeq, MAGIC.length, fromSeq, toSeq);
  }

  async *#eventsFrom(firstSeq: number, at: number, fromSeq: number, toSeq: number): AsyncGenerator<Envelope[]> {
    for await (const chunk of this.#storedFrom(firstSeq, at, fromSeq, toSeq)) yield chunk.values.map((v, i) => decodeEventOrThrow(v, chunk.firstSeq + i));
  }

  /** Records read from file offset `at` (where record `firstSeq` starts), kept if within [fromSeq, toSeq]. */
  async *#storedFrom(firstSeq: number, at: number, fromSeq: number, toSeq: number): AsyncGenerator<{ firstSeq: number; values: Buffer[] }> {
    if (fromSeq > toSeq) return;
    let seq = firstSeq;
    for await (const values of this.values(at)) {
      const skip = Math.max(0, fromSeq - seq);
      const kept = values.slice(skip, Math.max(skip, toSeq - seq + 1));
      if (kept.length) yield { firstSeq: seq + skip, values: kept };
      seq += values.length;
      if (seq > toSeq) return;
    }
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Opens an archive for reading history, saying which range it holds when it cannot. */
export async function openArchive(a: Pick<ArchiveEntry, 'path' | 'fromSeq' | 'toSeq'>): Promise<ArchiveReader> {
  try {
    return await ArchiveReader.open(a.path);
  } catch (e) {
    throw new ChronicleError('FAILED_PRECONDITION', `history over seqs ${a.fromSeq}-${a.toSeq} is archived in ${a.path}, which cannot be read: ${(e as Error).message}`, {
      path: a.path,
      fromSeq: a.fromSeq,
      toSeq: a.toSeq,
    });
  }
}

/** The archived events over [fromSeq, toSeq], from the archives that hold them, in chunks. */
/** The archived records over [fromSeq, toSeq] as stored (for export), in seq order, in chunks. */
export async function* readArchivedValues(archives: readonly ArchiveEntry[], fromSeq: number, toSeq: number): AsyncGenerator<Buffer[]> {
  for (const a of archives) {
    if (a.toSeq < fromSeq || a.fromSeq > toSeq) continue;
    const reader = await openArchive(a);
    try {
      for await (const chunk of reader.storedValues(fromSeq, toSeq)) yield chunk.values;
    } finally {
      await reader.close();
    }
  }
}

export async function* readArchives(archives: readonly ArchiveEntry[], fromSeq: number, toSeq: number, signal?: AbortSignal): AsyncGenerator<Envelope[]> {
  for (const a of archives) {
    if (a.toSeq < fromSeq || a.fromSeq > toSeq) continue;
    const reader = await openArchive(a);
    try {
      for await (const chunk of reader.events(Math.max(fromSeq, a.fromSeq), Math.min(toSeq, a.toSeq))) {
        signal?.throwIfAborted();
        yield chunk;
      }
    } finally {
      await reader.close();
    }
  }
}

export type ArchiveVerdict = { ok: true; checked: number } | { ok: false; checked: number; seq: number; reason: string };

/**
 * Checks an archive on its own (every record's chain link and hash, the count, the range
 * and the last hash its header claims) and, when given, against what the log recorded of
 * it (`expect`): the same range and the same last hash, which the live chain continues.
 */
export async function verifyArchive(path: string, expect?: Pick<ArchiveEntry, 'fromSeq' | 'toSeq' | 'lastHash' | 'prev'> & { sha256?: string }): Promise<ArchiveVerdict> {
  let reader: ArchiveReader;
  try {
    reader = await ArchiveReader.open(path);
  } catch (e) {
    return { ok: false, checked: 0, seq: expect?.fromSeq ?? 0, reason: (e as Error).message };
  }
  try {
    const h = reader.header;
    const checker = new ChainChecker(h.fromSeq - 1, Buffer.from(h.prev, 'hex'));
    let seq = h.fromSeq;
    let checked = 0;
    try {
      for await (const values of reader.values()) {
        for (const v of values) {
          if (!checker.check(seq, v)) return { ok: false, checked, seq, reason: checker.fault?.reason ?? 'bad record' };
          seq++;
          checked++;
        }
      }
    } catch (e) {
      return { ok: false, checked, seq, reason: (e as Error).message };
    }
    const fault = checker.finish(h.toSeq);
    if (fault) return { ok: false, checked, seq: fault.seq, reason: fault.reason };
    if (seq - 1 !== h.toSeq || checked !== h.count) return { ok: false, checked, seq, reason: `holds ${checked} records, its header says ${h.count} up to ${h.toSeq}` };
    if (checker.lastHash.toString('hex') !== h.lastHash) return { ok: false, checked, seq: h.toSeq, reason: 'the last hash differs from the header' };
    if (expect && (expect.fromSeq !== h.fromSeq || expect.toSeq !== h.toSeq || expect.prev !== h.prev || expect.lastHash !== h.lastHash)) {
      return { ok: false, checked, seq: h.fromSeq, reason: 'the archive is not the one the log recorded (range or hashes differ)' };
    }
    // The chain covers the records; the recorded file digest covers the snapshots and header too.
    if (expect?.sha256 !== undefined && (await fileSha256(path)) !== expect.sha256) {
      return { ok: false, checked, seq: h.fromSeq, reason: "the file's sha256 differs from the one the log recorded (its snapshots or header changed)" };
    }
    return { ok: true, checked };
  } finally {
    await reader.close();
  }
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_BYTES);
    for (let n = (await fh.read(buf, 0, buf.length, null)).bytesRead; n > 0; n = (await fh.read(buf, 0, buf.length, null)).bytesRead) hash.update(buf.subarray(0, n));
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}

function unpackSafe(raw: Buffer): unknown {
  try {
    return unpack(raw);
  } catch {
    return undefined;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
