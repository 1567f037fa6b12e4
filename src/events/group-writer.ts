// Group commit. Appenders enqueue; one writer turn takes everything queued (up to a bound),
// assigns gap-free seqs and never-decreasing timestamps, chains the hashes, writes ONE
// chained batch with { sync: true }, and only then resolves the appenders and hands the
// events, in seq order, to `publish`. Nothing is visible before it is durable.
import type { ClassicLevel } from 'classic-level';
import { crashPoint } from '../crash-points.js';
import { encodeEvent } from './codec.js';
import { byActorKey, byIdKey, encodeHead, logKey, META_HEAD } from './keys.js';

const REQUEST_RECORDS: ReadonlySet<string> = new Set(['RequestCompleted', 'RequestFailed', 'RequestDenied']);
const isRequestRecord = (type: string): boolean => REQUEST_RECORDS.has(type);
import { EVENT_VERSIONS, type Envelope, type Fact } from './schemas.js';

export interface Head {
  seq: number;
  hash: Buffer;
  ts: number;
}

interface Pending {
  facts: readonly Fact[];
  resolve: (events: Envelope[]) => void;
  reject: (e: unknown) => void;
}

export interface GroupWriterDeps {
  db: ClassicLevel<Buffer, Buffer>;
  head: Head;
  publish: (events: readonly Envelope[]) => void;
  /** Called before each turn: throws to refuse appends (e.g. a broken chain). */
  guard: () => void;
  clock?: () => number;
  maxBatchEvents?: number;
}

const EMPTY = Buffer.alloc(0);

export class GroupWriter {
  readonly #deps: GroupWriterDeps;
  readonly #clock: () => number;
  readonly #max: number;
  #head: Head;
  #queue: Pending[] = [];
  #running = false;
  #idle: Promise<void> = Promise.resolve();
  #idleResolve: (() => void) | undefined;

  constructor(deps: GroupWriterDeps) {
    this.#deps = deps;
    this.#head = { ...deps.head };
    this.#clock = deps.clock ?? Date.now;
    this.#max = deps.maxBatchEvents ?? 10_000;
  }

  get head(): Head {
    return this.#head;
  }

  /** Replaces the head after an out-of-band write (repair). Only while idle. */
  resetHead(head: Head): void {
    if (this.#running) throw new TypeError('resetHead while writing');
    this.#head = { ...head };
  }

  enqueue(facts: readonly Fact[]): Promise<Envelope[]> {
    return new Promise<Envelope[]>((resolve, reject) => {
      this.#queue.push({ facts, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        this.#idle = new Promise((r) => (this.#idleResolve = r));
        // A microtask lets every append made in the same tick join the first batch.
        queueMicrotask(() => void this.#loop());
      }
    });
  }

  /** Resolves when the queue is empty and no batch is in flight. */
  drained(): Promise<void> {
    return this.#running ? this.#idle : Promise.resolve();
  }

  async #loop(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const turn = this.#take();
        try {
          this.#deps.guard();
          await this.#commit(turn);
        } catch (e) {
          for (const p of turn) p.reject(e);
        }
      }
    } finally {
      this.#running = false;
      this.#idleResolve?.();
    }
  }

  #take(): Pending[] {
    let n = 0;
    let i = 0;
    while (i < this.#queue.length && (i === 0 || n + this.#queue[i]!.facts.length <= this.#max)) {
      n += this.#queue[i]!.facts.length;
      i++;
    }
    return this.#queue.splice(0, i);
  }

  async #commit(turn: Pending[]): Promise<void> {
    const batch = this.#deps.db.batch();
    let { seq, hash, ts } = this.#head;
    const now = this.#clock();
    const results: Envelope[][] = [];
    for (const p of turn) {
      const events: Envelope[] = [];
      for (const fact of p.facts) {
        seq += 1;
        ts = Math.max(ts, now);
        const prev = hash;
        const encoded = encodeEvent(fact, seq, ts, prev);
        batch.put(logKey(seq), encoded.value);
        if (fact.id !== '') batch.put(byIdKey(fact.ns, fact.id, seq), EMPTY);
        if (isRequestRecord(fact.type)) batch.put(byActorKey(fact.actor, seq), EMPTY);
        hash = encoded.hash;
        events.push(toEnvelope(fact, seq, ts, prev, hash));
      }
      results.push(events);
    }
    batch.put(META_HEAD, encodeHead(seq, hash));
    crashPoint('log.before-write');
    await batch.write({ sync: true });
    crashPoint('log.after-write');
    this.#head = { seq, hash, ts };
    turn.forEach((p, i) => p.resolve(results[i]!));
    for (const events of results) this.#deps.publish(events);
  }
}

function toEnvelope(fact: Fact, seq: number, ts: number, prev: Buffer, hash: Buffer): Envelope {
  return {
    seq,
    ts,
    ns: fact.ns,
    id: fact.id,
    type: fact.type,
    v: EVENT_VERSIONS[fact.type],
    data: fact.data,
    actor: fact.actor,
    ...(fact.req !== undefined ? { req: fact.req } : {}),
    ...(fact.shimSeq !== undefined ? { shimSeq: fact.shimSeq } : {}),
    prev: prev.toString('hex'),
    hash: hash.toString('hex'),
  } as Envelope;
}
