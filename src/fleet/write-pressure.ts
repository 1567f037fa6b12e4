// How hard the local writer is working, from the commits it announces: events committed in
// the last few 100 ms buckets. Fleet export steps aside while this is high (the local writer
// first), for a bounded time. Pure: the caller passes the clock.

/** How long fleet export may step aside for a burst of local writes, by default (--export-defer-ms). */
export const DEFAULT_DEFER_MAX_MS = 1000;

const BUCKET_MS = 100;
const BUCKETS = 3;

export class WritePressure {
  readonly #busyEps: number;
  readonly #counts = new Array<number>(BUCKETS).fill(0);
  #bucket = 0;

  /** `busyEps`: the commit rate (events/s) from which the writer counts as busy. */
  constructor(busyEps: number) {
    this.#busyEps = busyEps;
  }

  /** `n` events committed at `now` (ms). */
  committed(now: number, n = 1): void {
    this.#advance(now);
    this.#counts[this.#bucket % BUCKETS]! += n;
  }

  /** The commit rate over the last BUCKETS buckets (the current one included), events/s. */
  rate(now: number): number {
    this.#advance(now);
    return (this.#counts.reduce((a, b) => a + b, 0) * 1000) / (BUCKET_MS * BUCKETS);
  }

  busy(now: number): boolean {
    return this.rate(now) >= this.#busyEps;
  }

  #advance(now: number): void {
    const b = Math.floor(now / BUCKET_MS);
    if (b <= this.#bucket) return;
    // Buckets skipped since the last commit held none.
    for (let i = this.#bucket + 1; i <= Math.min(b, this.#bucket + BUCKETS); i++) this.#counts[i % BUCKETS] = 0;
    this.#bucket = b;
  }
}
