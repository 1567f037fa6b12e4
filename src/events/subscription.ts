// Subscriptions (DESIGN section 8): catch up from the log, then follow the live bus with no
// gap and no duplicate. The live queue is attached BEFORE the log is read, so every event
// the read misses is in the queue; events already read are dropped by seq. A consumer that
// falls behind overflows its bounded queue, which is then dropped: the subscription goes
// back to reading the log from its next seq. The writer is never blocked and nothing is lost.
import type { Observable, Subscription } from 'rxjs';
import { readArchives } from './archive.js';
import type { EventLog } from './event-log.js';
import type { Envelope, EventType } from './schemas.js';

export interface EventFilter {
  ns?: string;
  id?: string;
  types?: readonly EventType[];
}

export interface SubscribeOptions {
  /** First seq to deliver (default 1). */
  fromSeq?: number;
  /** Deliver from the first event with ts >= fromTime (ms since epoch). Ignored if fromSeq is set. */
  fromTime?: number;
  filter?: EventFilter;
  /** Keep following live events (default true); otherwise stop at the head as of the call. */
  follow?: boolean;
  /** Live events held for a slow consumer before falling back to the log (default 10,000). */
  bufferSize?: number;
  signal?: AbortSignal;
}

export function matches(filter: EventFilter | undefined, e: Envelope): boolean {
  if (!filter) return true;
  if (filter.ns !== undefined && e.ns !== filter.ns) return false;
  if (filter.id !== undefined && e.id !== filter.id) return false;
  if (filter.types !== undefined && filter.types.length > 0 && !filter.types.includes(e.type)) return false;
  return true;
}

export function subscribe(log: EventLog, opts: SubscribeOptions = {}): AsyncGenerator<Envelope> {
  // follow:false stops at the head as of this call, not as of the first pull.
  return run(log, opts, (opts.follow ?? true) ? Number.MAX_SAFE_INTEGER : log.head().seq);
}

async function* run(log: EventLog, opts: SubscribeOptions, stopAt: number): AsyncGenerator<Envelope> {
  const follow = opts.follow ?? true;
  let next = opts.fromSeq ?? (opts.fromTime !== undefined ? (await log.seqAtTime(opts.fromTime - 1)) + 1 : 1);
  next = Math.max(1, next);
  // Timestamps never decrease, so this only skips events committed before fromTime (it may
  // be ahead of the head when the subscription starts).
  const minTs = opts.fromSeq === undefined ? (opts.fromTime ?? 0) : 0;
  // An id without ns means ns 'default' (as for log.read), for live events as well.
  const filter = opts.filter?.id !== undefined && opts.filter.ns === undefined ? { ...opts.filter, ns: 'default' } : opts.filter;
  // Reading one container's history through its index is cheaper than scanning the log.
  const byId = filter?.id !== undefined ? { ns: filter.ns ?? 'default', id: filter.id } : {};
  // Events compaction moved out of the log are read from their archives: no gap at the cut.
  if (next < log.horizon) {
    for await (const chunk of readArchives(log.archives(), next, Math.min(stopAt, log.horizon - 1), opts.signal)) {
      for (const e of chunk) if (e.ts >= minTs && matches(filter, e)) yield e;
    }
    next = log.horizon;
  }
  for (;;) {
    const live = follow ? new LiveQueue(log.committed$, opts.bufferSize ?? 10_000) : undefined;
    try {
      const readTo = follow ? Number.MAX_SAFE_INTEGER : stopAt;
      // While catching up, the log is read in one pass up to its head at the time of reading.
      const head = log.head().seq;
      if (next <= Math.min(readTo, head)) {
        for await (const e of log.read({ fromSeq: next, toSeq: Math.min(readTo, head), ...byId, ...(opts.signal ? { signal: opts.signal } : {}) })) {
          if (e.ts >= minTs && matches(filter, e)) yield e;
          next = e.seq + 1;
        }
        // A filtered read skips seqs; everything up to the head read is behind us.
        next = Math.max(next, Math.min(readTo, head) + 1);
      }
      if (!live) return;
      for (;;) {
        const item = await live.next(opts.signal);
        if (item === 'closed') return;
        if (item === 'overflow') break;
        if (item.seq < next) continue;
        if (item.seq > next) break; // cannot happen while attached; re-read the log to be sure
        if (item.ts >= minTs && matches(filter, item)) yield item;
        next = item.seq + 1;
      }
    } finally {
      live?.close();
    }
  }
}

/** A bounded FIFO fed by the bus; past its bound it empties itself and says 'overflow'. */
class LiveQueue {
  #items: Envelope[] = [];
  #head = 0;
  #overflow = false;
  #closed = false;
  #wake: (() => void) | undefined;
  readonly #sub: Subscription;
  readonly #cap: number;

  constructor(bus: Observable<Envelope>, cap: number) {
    this.#cap = cap;
    this.#sub = bus.subscribe({
      next: (e) => this.#push(e),
      complete: () => {
        this.#closed = true;
        this.#notify();
      },
    });
  }

  #push(e: Envelope): void {
    if (this.#overflow) return;
    if (this.#items.length - this.#head >= this.#cap) {
      this.#overflow = true;
      this.#items = [];
      this.#head = 0;
      this.#sub.unsubscribe();
    } else {
      this.#items.push(e);
    }
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  async next(signal?: AbortSignal): Promise<Envelope | 'overflow' | 'closed'> {
    for (;;) {
      if (this.#head < this.#items.length) {
        const e = this.#items[this.#head++]!;
        if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
          this.#items = this.#items.slice(this.#head);
          this.#head = 0;
        }
        return e;
      }
      if (this.#overflow) return 'overflow';
      if (this.#closed) return 'closed';
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
        this.#wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  close(): void {
    this.#sub.unsubscribe();
    this.#closed = true;
  }
}
