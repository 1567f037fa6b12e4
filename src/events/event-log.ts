// EventLog: the durable, hash-chained log over LevelDB (DESIGN section 2).
// Appends go through the group writer; reads are async iterators in bounded chunks;
// the live bus carries only durable events. On open the tail of the chain is checked, and
// a log with a broken link refuses appends (CHAIN_BROKEN, naming the seq) until repaired.
import { ClassicLevel } from 'classic-level';
import { Observable, Subject } from 'rxjs';
import { crashPoint } from '../crash-points.js';
import { ChronicleError, invalidArgument } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { ArchiveEntry, ArchiveReader } from './archive.js';
import { decodeEvent, decodeEventOrThrow, pack, unpack, ZERO_HASH } from './codec.js';
import { ChainChecker, type ChainFault } from './hash-chain.js';
import { GroupWriter, type Head } from './group-writer.js';
import {
  byIdRange,
  cursorKey,
  decodeHead,
  byActorRange,
  logKey,
  logRange,
  META_ARCHIVES,
  META_BYACTOR_FROM,
  META_FORMAT,
  META_HEAD,
  PREFIX,
  parseByIdKey,
  parseLogKey,
  parseSnapKey,
  prefixEnd,
  snapKey,
} from './keys.js';
import { moveTailAside } from './repair.js';
import { EVENT_DATA, FactSchema, type Envelope, type Fact } from './schemas.js';

export const FORMAT_VERSION = 1;
const CHUNK = 1000;
/**
 * classic-level stops a nextv() at highWaterMarkBytes (16 KiB by default), which is about 75
 * events: without this, a "chunk of 1000" is fourteen trips to the thread pool.
 */
const CHUNK_BYTES = 1 << 20;

export interface EventLogOptions {
  path: string;
  logger?: Logger;
  /** How many records at the tail are verified on open. */
  tailCheck?: number;
  maxBatchEvents?: number;
  clock?: () => number;
}

export interface ReadOptions {
  fromSeq?: number;
  toSeq?: number;
  ns?: string;
  id?: string;
  limit?: number;
  signal?: AbortSignal;
}

export type VerifyResult =
  | { ok: true; checked: number; fromSeq: number; toSeq: number }
  | { ok: false; checked: number; seq: number; reason: string };

export interface RepairResult {
  repaired: boolean;
  fromSeq?: number;
  toSeq?: number;
  moved?: number;
  asidePrefix?: string;
  event?: Envelope;
}

export interface HeadInfo {
  seq: number;
  hash: string;
  ts: number;
}

export class EventLog implements AsyncDisposable {
  readonly #db: ClassicLevel<Buffer, Buffer>;
  readonly #log: Logger;
  readonly #bus = new Subject<Envelope>();
  readonly #writer: GroupWriter;
  #broken: ChainFault | undefined;
  #closed = false;
  /** The first seq the actor index covers (a log written before it had none). */
  #byActorFrom = 1;
  /** What compaction moved out to archive files, oldest first; the log keeps seqs after them. */
  #archives: ArchiveEntry[] = [];

  /** Durable events, in seq order, as they are committed. */
  readonly committed$: Observable<Envelope> = this.#bus.asObservable();

  private constructor(db: ClassicLevel<Buffer, Buffer>, head: Head, broken: ChainFault | undefined, opts: EventLogOptions) {
    this.#db = db;
    this.#log = opts.logger ?? silentLogger;
    this.#broken = broken;
    this.#writer = new GroupWriter({
      db,
      head,
      publish: (events) => {
        for (const e of events) this.#bus.next(e);
      },
      guard: () => this.#guard(),
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.maxBatchEvents ? { maxBatchEvents: opts.maxBatchEvents } : {}),
    });
  }

  static async open(opts: EventLogOptions): Promise<EventLog> {
    const db = new ClassicLevel<Buffer, Buffer>(opts.path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    try {
      await checkFormat(db);
      const archives = await readArchives(db);
      const { head, fault } = await checkTail(db, opts.tailCheck ?? 1000, anchorOf(archives));
      const log = new EventLog(db, head, fault, opts);
      log.#archives = archives;
      log.#byActorFrom = await indexedFrom(db, META_BYACTOR_FROM, head.seq + 1);
      // A compaction that stopped between recording its archive and deleting what it holds.
      if (archives.length > 0 && (await log.#storedFirstSeq()) < log.horizon) await log.#dropBefore(log.horizon);
      if (fault) log.#log.error({ seq: fault.seq, reason: fault.reason }, 'event log chain is broken');
      return log;
    } catch (e) {
      await db.close();
      throw e;
    }
  }

  /** The last good event (seq 0 when empty). */
  head(): HeadInfo {
    const h = this.#writer.head;
    return { seq: h.seq, hash: h.hash.toString('hex'), ts: h.ts };
  }

  /** The first seq the log itself holds: everything before it is in the archives. */
  get horizon(): number {
    const last = this.#archives.at(-1);
    return last ? last.toSeq + 1 : 1;
  }

  /** The archive files compaction wrote, oldest first. */
  archives(): readonly ArchiveEntry[] {
    return this.#archives;
  }

  /** The first bad seq found on open or by verify(), if any. */
  broken(): ChainFault | undefined {
    return this.#broken;
  }

  /** Appends facts durably (group commit); resolves with their envelopes, in order. */
  async append(facts: readonly Fact[]): Promise<Envelope[]> {
    this.#assertOpen();
    if (!Array.isArray(facts) || facts.length === 0) throw new ChronicleError('INVALID_ARGUMENT', 'invalid facts: nothing to append', { field: 'facts' });
    facts.forEach((f: Fact, i) => validateFact(f, i)); // Array.isArray narrowed facts to any[]
    this.#guard();
    return this.#writer.enqueue(facts);
  }

  /** Events in seq order, in chunks of at most 1000 reads; optionally one container's. */
  async *read(opts: ReadOptions = {}): AsyncGenerator<Envelope> {
    this.#assertOpen();
    const fromSeq = Math.max(this.horizon, opts.fromSeq ?? 1);
    const toSeq = opts.toSeq ?? Number.MAX_SAFE_INTEGER;
    const limit = opts.limit ?? Infinity;
    if (fromSeq > toSeq || limit <= 0) return;
    if (opts.id !== undefined) {
      yield* this.#readById(opts.ns ?? 'default', opts.id, fromSeq, toSeq, limit, opts.signal);
      return;
    }
    for await (const chunk of this.readChunks({ ...opts, fromSeq, toSeq })) {
      for (const e of chunk) {
        opts.signal?.throwIfAborted(); // also between events: a chunk holds up to 1000
        yield e;
      }
    }
  }

  /**
   * The same events as `read` (without the per-container index), a chunk of up to 1000 at
   * a time: one await per chunk instead of one per event, for replay and time travel.
   */
  async *readChunks(opts: Omit<ReadOptions, 'id'> = {}): AsyncGenerator<Envelope[]> {
    this.#assertOpen();
    const fromSeq = Math.max(this.horizon, opts.fromSeq ?? 1);
    const toSeq = opts.toSeq ?? Number.MAX_SAFE_INTEGER;
    const limit = opts.limit ?? Infinity;
    if (fromSeq > toSeq || limit <= 0) return;
    // Values only: the seq is in each body (a key would cost a second Buffer per record), and
    // the key of a record that does not decode is looked up once one is found.
    const it = this.#db.values({ ...logRange(fromSeq, toSeq), highWaterMarkBytes: CHUNK_BYTES });
    let n = 0;
    let taken = 0; // records taken from the iterator and decoded so far
    // LevelDB reads in the thread pool while this thread decodes the chunk before: the next
    // nextv is asked for before the current chunk is decoded (one in flight at a time).
    let next: Promise<Buffer[]> | undefined = it.nextv(Math.min(CHUNK, limit));
    try {
      for (;;) {
        opts.signal?.throwIfAborted();
        const values: Buffer[] = await (next ?? it.nextv(Math.min(CHUNK, limit - n)));
        next = undefined;
        if (values.length === 0) return;
        if (n + values.length < limit) next = it.nextv(Math.min(CHUNK, limit - n - values.length));
        const chunk: Envelope[] = [];
        for (const value of values) {
          const r = decodeEvent(value);
          if (!r.ok) {
            const seq = await this.#nthSeq(fromSeq, toSeq, taken);
            throw new ChronicleError('CHAIN_BROKEN', `event ${seq}: ${r.reason}`, { seq });
          }
          taken++;
          const e = r.event;
          if (opts.ns !== undefined && e.ns !== opts.ns) continue;
          chunk.push(e);
          if (++n >= limit) break;
        }
        if (chunk.length > 0) yield chunk;
        if (n >= limit) return;
      }
    } finally {
      await next?.catch(() => undefined);
      await it.close();
    }
  }

  /** The seq of the record stored `skip` records after the first one in [fromSeq, toSeq]. */
  async #nthSeq(fromSeq: number, toSeq: number, skip: number): Promise<number> {
    const it = this.#db.keys({ ...logRange(fromSeq, toSeq), limit: skip + 1, highWaterMarkBytes: CHUNK_BYTES });
    try {
      let last: Buffer | undefined;
      for (let keys = await it.nextv(CHUNK); keys.length > 0; keys = await it.nextv(CHUNK)) last = keys[keys.length - 1];
      return last ? parseLogKey(last) : fromSeq + skip;
    } finally {
      await it.close();
    }
  }

  async *#readById(ns: string, id: string, fromSeq: number, toSeq: number, limit: number, signal?: AbortSignal): AsyncGenerator<Envelope> {
    const it = this.#db.keys({ ...byIdRange(ns, id, fromSeq, toSeq) });
    let n = 0;
    try {
      for (;;) {
        signal?.throwIfAborted();
        const keys = await it.nextv(Math.min(CHUNK, limit - n));
        if (keys.length === 0) return;
        const seqs = keys.map((k) => Number(k.readBigUInt64BE(k.length - 8)));
        const values = await this.#db.getMany(seqs.map(logKey));
        for (let i = 0; i < seqs.length; i++) {
          signal?.throwIfAborted();
          const value = values[i];
          if (value === undefined) continue; // index entry of a record moved aside by repair
          const e = decodeEventOrThrow(value, seqs[i]!);
          if (e.ns !== ns || e.id !== id) continue;
          yield e;
          if (++n >= limit) return;
        }
      }
    } finally {
      await it.close();
    }
  }

  /**
   * Request records (RequestCompleted, RequestFailed, RequestDenied) made by `actor` over
   * [fromSeq, toSeq], in seq order: through the actor index, and by a scan for any part of
   * the log written before the index existed.
   */
  async *readRequestsByActor(actor: string, fromSeq: number, toSeq: number, signal?: AbortSignal): AsyncGenerator<Envelope> {
    this.#assertOpen();
    const isTheirs = (e: Envelope): boolean => e.actor === actor && (e.type === 'RequestCompleted' || e.type === 'RequestFailed' || e.type === 'RequestDenied');
    fromSeq = Math.max(fromSeq, this.horizon);
    if (fromSeq < this.#byActorFrom) {
      for await (const chunk of this.readChunks({ fromSeq, toSeq: Math.min(toSeq, this.#byActorFrom - 1), ...(signal ? { signal } : {}) })) {
        for (const e of chunk) if (isTheirs(e)) yield e;
      }
    }
    const from = Math.max(fromSeq, this.#byActorFrom);
    if (from > toSeq) return;
    const it = this.#db.keys(byActorRange(actor, from, toSeq));
    try {
      for (;;) {
        signal?.throwIfAborted();
        const keys = await it.nextv(CHUNK);
        if (keys.length === 0) return;
        const seqs = keys.map((k) => Number(k.readBigUInt64BE(k.length - 8)));
        const values = await this.#db.getMany(seqs.map(logKey));
        for (let i = 0; i < seqs.length; i++) {
          const value = values[i];
          if (value === undefined) continue; // an index entry of a record moved aside by repair
          const e = decodeEventOrThrow(value, seqs[i]!);
          if (isTheirs(e)) yield e; // a repaired seq may hold someone else's record now
        }
      }
    } finally {
      await it.close();
    }
  }

  /** The events just before `seq` that carry request id `req` (a call's facts), in order. */
  async factsOf(seq: number, req: string, max = 64): Promise<Envelope[]> {
    this.#assertOpen();
    const out: Envelope[] = [];
    // Most calls append a few facts: look back 4 records, then further only while they match.
    for (let from = seq - 1, window = 4; from >= this.horizon && out.length < max; window *= 2) {
      const seqs = Array.from({ length: Math.min(window, from - this.horizon + 1) }, (_, i) => from - i);
      const values = await this.#db.getMany(seqs.map(logKey));
      for (let i = 0; i < seqs.length; i++) {
        const value = values[i];
        const e = value === undefined ? undefined : decodeEventOrThrow(value, seqs[i]!);
        if (e?.req !== req) return out;
        out.unshift(e);
      }
      from -= seqs.length;
    }
    return out;
  }

  /** One event by seq, or undefined. */
  async get(seq: number): Promise<Envelope | undefined> {
    this.#assertOpen();
    const value = await this.#db.get(logKey(seq));
    return value === undefined ? undefined : decodeEventOrThrow(value, seq);
  }

  /** The first seq still stored (1, or later after compaction); head+1 when empty. */
  async firstSeq(): Promise<number> {
    this.#assertOpen();
    return Math.max(this.horizon, await this.#storedFirstSeq());
  }

  async #storedFirstSeq(): Promise<number> {
    const keys = await this.#db.keys({ gte: PREFIX.log, lt: prefixEnd(PREFIX.log), limit: 1 }).all();
    const k = keys[0];
    return k ? parseLogKey(k) : this.head().seq + 1;
  }

  /** The last seq whose ts <= `ts` (0 if none). Timestamps never decrease, so this bisects. */
  async seqAtTime(ts: number): Promise<number> {
    this.#assertOpen();
    const head = this.head();
    if (head.seq === 0) return 0;
    if (ts >= head.ts) return head.seq;
    const first = await this.firstSeq();
    let lo = first - 1; // invariant: ts(lo) <= ts (lo may be a virtual 0, or archived)
    let hi = head.seq; // invariant: ts(hi) > ts
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await this.#tsOf(mid)) <= ts) lo = mid;
      else hi = mid;
    }
    // Before the first record kept: the answer is in the archives (or 0, before them all).
    return lo === first - 1 && this.#archives.length > 0 ? this.#archivedSeqAtTime(ts) : lo;
  }

  /** seqAtTime within the archives: the newest archive starting at or before `ts`, scanned. */
  async #archivedSeqAtTime(ts: number): Promise<number> {
    const a = this.#archives.findLast((x) => x.firstTs <= ts);
    if (!a) return 0;
    if (ts >= a.lastTs) return a.toSeq;
    const reader = await ArchiveReader.open(a.path);
    try {
      let seq = a.fromSeq - 1;
      for await (const chunk of reader.events(a.fromSeq, a.toSeq)) {
        for (const e of chunk) {
          if (e.ts > ts) return seq;
          seq = e.seq;
        }
      }
      return seq;
    } finally {
      await reader.close();
    }
  }

  async #tsOf(seq: number): Promise<number> {
    const value = await this.#db.get(logKey(seq));
    if (value === undefined) throw new ChronicleError('CHAIN_BROKEN', `record ${seq} is missing`, { seq });
    const body = unpack(value.subarray(0, value.length - 34));
    const ts = Array.isArray(body) ? (body[1] as unknown) : undefined;
    if (typeof ts !== 'number') throw new ChronicleError('CHAIN_BROKEN', `record ${seq} has no timestamp`, { seq });
    return ts;
  }

  /** Walks the chain over [fromSeq, toSeq] and reports the first bad seq. */
  async verify(opts: { fromSeq?: number; toSeq?: number; signal?: AbortSignal } = {}): Promise<VerifyResult> {
    this.#assertOpen();
    const first = await this.firstSeq();
    const fromSeq = Math.max(first, opts.fromSeq ?? first);
    const stored = await this.#storedHead();
    const toSeq = Math.min(opts.toSeq ?? stored.seq, stored.seq);
    const start = await this.#chainStart(fromSeq);
    const checker = new ChainChecker(fromSeq - 1, start.hash, start.ts);
    const it = this.#db.iterator({ ...logRange(fromSeq, toSeq), highWaterMarkBytes: CHUNK_BYTES });
    let checked = 0;
    try {
      for (;;) {
        opts.signal?.throwIfAborted();
        const entries = await it.nextv(CHUNK);
        if (entries.length === 0) break;
        for (const [key, value] of entries) {
          if (!checker.check(parseLogKey(key), value)) break;
          checked++;
        }
        if (checker.fault) break;
      }
    } finally {
      await it.close();
    }
    const fault = checker.finish(toSeq);
    if (fault) {
      if (!this.#broken || fault.seq < this.#broken.seq) this.#broken = fault;
      return { ok: false, checked, seq: fault.seq, reason: fault.reason };
    }
    return { ok: true, checked, fromSeq, toSeq };
  }

  /** The hash and ts of the record before `seq` (what the chain at `seq` must follow). */
  async #chainStart(seq: number): Promise<{ hash: Buffer; ts: number }> {
    if (seq <= 1) return { hash: ZERO_HASH, ts: 0 };
    const archived = this.#archives.at(-1);
    // The first record kept after a compaction follows the last archived one.
    if (archived && seq === archived.toSeq + 1) return { hash: Buffer.from(archived.lastHash, 'hex'), ts: archived.lastTs };
    const value = await this.#db.get(logKey(seq - 1));
    if (value === undefined) {
      // Compacted away: the record's own prev is the anchor (the archive verifies the rest).
      const own = await this.#db.get(logKey(seq));
      if (own === undefined) return { hash: ZERO_HASH, ts: 0 };
      const e = decodeEventOrThrow(own, seq);
      return { hash: Buffer.from(e.prev, 'hex'), ts: 0 };
    }
    const e = decodeEventOrThrow(value, seq - 1);
    return { hash: Buffer.from(e.hash, 'hex'), ts: e.ts };
  }

  async #storedHead(): Promise<{ seq: number }> {
    const raw = await this.#db.get(META_HEAD);
    return raw ? { seq: decodeHead(raw).seq } : { seq: this.head().seq };
  }

  /**
   * Moves the bad tail (from the first bad seq to the stored head) aside, keeping every
   * record under aside/<n>/, and appends LogRepaired in its place. A no-op on a sound log.
   */
  async repair(opts: { actor?: string } = {}): Promise<RepairResult> {
    this.#assertOpen();
    await this.#writer.drained();
    const found = await this.verify();
    if (found.ok) return { repaired: false };
    const goodSeq = found.seq - 1;
    const start = await this.#chainStart(found.seq);
    const stored = await this.#storedHead();
    const moved = await moveTailAside(this.#db, found.seq, { seq: goodSeq, hash: start.hash });
    // The lost range ends at the stored head even where no record was left to move.
    const toSeq = Math.max(moved.lastSeq, stored.seq);
    this.#writer.resetHead({ seq: goodSeq, hash: start.hash, ts: start.ts });
    this.#broken = undefined;
    const [event] = await this.#writer.enqueue([
      {
        type: 'LogRepaired',
        ns: '',
        id: '',
        actor: opts.actor ?? 'daemon',
        data: { fromSeq: found.seq, toSeq, count: moved.count, asidePrefix: moved.prefix, reason: found.reason },
      },
    ]);
    this.#log.warn({ fromSeq: found.seq, moved: moved.count, aside: moved.prefix }, 'event log repaired');
    return { repaired: true, fromSeq: found.seq, toSeq, moved: moved.count, asidePrefix: moved.prefix, ...(event ? { event } : {}) };
  }

  /** The stored records over [fromSeq, toSeq] as they are (body + hash), for archiving. */
  async *storedValues(fromSeq: number, toSeq: number): AsyncGenerator<Buffer[]> {
    this.#assertOpen();
    const it = this.#db.values({ ...logRange(fromSeq, toSeq), highWaterMarkBytes: CHUNK_BYTES });
    try {
      for (let values = await it.nextv(CHUNK); values.length > 0; values = await it.nextv(CHUNK)) yield values;
    } finally {
      await it.close();
    }
  }

  /**
   * Records that `entry`'s archive now holds [horizon, entry.toSeq] (durably, first), then
   * deletes those records, their index entries and the snapshots before entry.toSeq from
   * LevelDB. A crash in between is finished on the next open. The head always stays.
   */
  async commitArchive(entry: ArchiveEntry): Promise<void> {
    this.#assertOpen();
    if (entry.fromSeq !== this.horizon) throw new ChronicleError('FAILED_PRECONDITION', `an archive must start at the log's first seq ${this.horizon}, not ${entry.fromSeq}`);
    if (entry.toSeq >= this.head().seq) throw new ChronicleError('FAILED_PRECONDITION', `an archive must end before the head (${this.head().seq})`);
    const archives = [...this.#archives, ArchiveEntry.parse(entry)];
    await this.#db.put(META_ARCHIVES, pack(archives), { sync: true });
    this.#archives = archives;
    crashPoint('compact.after-record');
    await this.#dropBefore(this.horizon);
  }

  /** Deletes what lies before `seq` (records, index entries, older snapshots), in batches. */
  async #dropBefore(seq: number): Promise<void> {
    const BATCH = 10_000;
    let batch = this.#db.batch();
    const flush = async (force = false): Promise<void> => {
      if (batch.length < BATCH && !(force && batch.length > 0)) return;
      await batch.write();
      batch = this.#db.batch();
    };
    for await (const key of this.#db.keys({ gte: PREFIX.log, lt: logKey(seq) })) {
      batch.del(key);
      await flush();
    }
    for await (const key of this.#db.keys({ gte: PREFIX.byid, lt: prefixEnd(PREFIX.byid) })) {
      if (parseByIdKey(key).seq < seq) batch.del(key);
      await flush();
    }
    for await (const key of this.#db.keys({ gte: PREFIX.byactor, lt: prefixEnd(PREFIX.byactor) })) {
      if (Number(key.readBigUInt64BE(key.length - 8)) < seq) batch.del(key);
      await flush();
    }
    // The snapshot at seq - 1 is where time travel after the cut starts: keep it.
    for await (const key of this.#db.keys({ gte: PREFIX.snap, lt: snapKey(seq - 1) })) {
      batch.del(key);
      await flush();
    }
    await flush(true);
    await this.#db.compactRange(PREFIX.log, logKey(seq));
  }

  async putSnapshot(seq: number, bytes: Buffer): Promise<void> {
    this.#assertOpen();
    await this.#db.put(snapKey(seq), bytes);
  }

  /** The seqs of the snapshots taken over [fromSeq, toSeq]. */
  async snapshotSeqs(fromSeq: number, toSeq: number): Promise<number[]> {
    this.#assertOpen();
    return (await this.#db.keys({ gte: snapKey(fromSeq), lte: snapKey(toSeq) }).all()).map(parseSnapKey);
  }

  /** The snapshots taken over [fromSeq, toSeq], one at a time, in seq order. */
  async *snapshots(fromSeq: number, toSeq: number): AsyncGenerator<{ seq: number; bytes: Buffer }> {
    this.#assertOpen();
    for await (const [key, bytes] of this.#db.iterator({ gte: snapKey(fromSeq), lte: snapKey(toSeq) })) yield { seq: parseSnapKey(key), bytes };
  }

  /** The newest snapshot taken at or before `seq`. */
  async snapshotAtOrBefore(seq: number): Promise<{ seq: number; bytes: Buffer } | undefined> {
    this.#assertOpen();
    const entries = await this.#db.iterator({ gte: PREFIX.snap, lte: snapKey(seq), reverse: true, limit: 1 }).all();
    const entry = entries[0];
    return entry ? { seq: parseSnapKey(entry[0]), bytes: entry[1] } : undefined;
  }

  async getCursor(name: string): Promise<Buffer | undefined> {
    this.#assertOpen();
    return this.#db.get(cursorKey(name));
  }

  async putCursor(name: string, value: Buffer): Promise<void> {
    this.#assertOpen();
    await this.#db.put(cursorKey(name), value, { sync: true });
  }

  /** Waits for queued appends, ends the bus and closes LevelDB. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.drained();
    this.#bus.complete();
    await this.#db.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ChronicleError('UNAVAILABLE', 'event log is closed');
  }

  #guard(): void {
    if (this.#broken) {
      throw new ChronicleError('CHAIN_BROKEN', `event log chain is broken at seq ${this.#broken.seq}: ${this.#broken.reason}; refusing to append (run repair)`, {
        seq: this.#broken.seq,
      });
    }
  }
}

function validateFact(f: Fact, i: number): void {
  const base = FactSchema.safeParse(f);
  if (!base.success) throw invalidArgument(base.error.issues, `facts.${i}`);
  const data = EVENT_DATA[base.data.type].safeParse(f.data);
  if (!data.success) throw invalidArgument(data.error.issues, `facts.${i}.data`);
}

async function checkFormat(db: ClassicLevel<Buffer, Buffer>): Promise<void> {
  const raw = await db.get(META_FORMAT);
  if (raw === undefined) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(FORMAT_VERSION);
    await db.put(META_FORMAT, b, { sync: true });
    return;
  }
  const v = raw.length === 4 ? raw.readUInt32BE(0) : -1;
  if (v !== FORMAT_VERSION) throw new ChronicleError('FAILED_PRECONDITION', `unsupported event log format ${v} (this build reads ${FORMAT_VERSION})`);
}

/** Verifies the last `count` records against meta/head; finds the last good head. */
async function checkTail(db: ClassicLevel<Buffer, Buffer>, count: number, archived?: Head): Promise<{ head: Head; fault: ChainFault | undefined }> {
  const rawHead = await db.get(META_HEAD);
  const lastKeys = await db.keys({ gte: PREFIX.log, lt: prefixEnd(PREFIX.log), reverse: true, limit: 1 }).all();
  const lastKey = lastKeys[0];
  if (rawHead === undefined && lastKey === undefined) return { head: { seq: 0, hash: ZERO_HASH, ts: 0 }, fault: undefined };
  const storedSeq = rawHead ? decodeHead(rawHead).seq : parseLogKey(lastKey!);
  const fromSeq = Math.max(archived ? archived.seq + 1 : 1, storedSeq - count + 1);
  let anchor: Head = { seq: 0, hash: ZERO_HASH, ts: 0 };
  if (archived && fromSeq === archived.seq + 1) anchor = archived;
  else if (fromSeq > 1) {
    const before = await db.get(logKey(fromSeq - 1));
    if (before === undefined) {
      // Compacted, or lost: anchor on the first record's own prev and let the checker judge it.
      const first = await db.get(logKey(fromSeq));
      if (first !== undefined) {
        const r = decodeEventOrThrowSafe(first, fromSeq);
        if (r) anchor = { seq: fromSeq - 1, hash: Buffer.from(r.prev, 'hex'), ts: 0 };
      }
    } else {
      const r = decodeEventOrThrowSafe(before, fromSeq - 1);
      // Undecodable anchor: widen the window by one, so the head before it is a real one.
      if (!r) return checkTail(db, count + 1, archived);
      anchor = { seq: fromSeq - 1, hash: Buffer.from(r.hash, 'hex'), ts: r.ts };
    }
  }
  const checker = new ChainChecker(anchor.seq, anchor.hash, anchor.ts);
  const entries = await db.iterator({ gte: logKey(fromSeq), lt: prefixEnd(PREFIX.log) }).all();
  for (const [key, value] of entries) {
    if (!checker.check(parseLogKey(key), value)) break;
  }
  const fault = checker.finish(storedSeq) ?? checker.fault;
  return { head: { seq: checker.lastGoodSeq, hash: checker.lastHash, ts: checker.lastTs }, fault };
}

function decodeEventOrThrowSafe(value: Buffer, seq: number): Envelope | undefined {
  try {
    return decodeEventOrThrow(value, seq);
  } catch {
    return undefined;
  }
}

/** The seq an index starts at: stored on first open, as the next seq to be written. */
async function indexedFrom(db: ClassicLevel<Buffer, Buffer>, key: Buffer, next: number): Promise<number> {
  const raw = await db.get(key);
  if (raw?.length === 8) return Number(raw.readBigUInt64BE(0));
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(next));
  await db.put(key, b, { sync: true });
  return next;
}

async function readArchives(db: ClassicLevel<Buffer, Buffer>): Promise<ArchiveEntry[]> {
  const raw = await db.get(META_ARCHIVES);
  if (raw === undefined) return [];
  const r = ArchiveEntry.array().safeParse(unpack(raw));
  if (!r.success) throw new ChronicleError('CHAIN_BROKEN', 'meta/archives is unreadable: the record of compacted history is damaged');
  return r.data;
}

/** The last archived record, which the first record the log keeps must follow. */
function anchorOf(archives: readonly ArchiveEntry[]): Head | undefined {
  const last = archives.at(-1);
  return last ? { seq: last.toSeq, hash: Buffer.from(last.lastHash, 'hex'), ts: last.lastTs } : undefined;
}
