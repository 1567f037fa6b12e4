// The shim's own facts (exit, oom, exec-exit), numbered by a shim-local seq. They stay in
// memory until their container is deleted, so a daemon that reconnects with
// Events(after = the last shimSeq it logged) gets every fact it missed, then live ones.

export interface ShimFact {
  shimSeq: number;
  containerId: string;
  type: 'exit' | 'oom' | 'exec-exit';
  pid: number;
  exitCode: number;
  signal: string;
  exitedAt: number;
  execId: string;
}

type Listener = (f: ShimFact) => void;

export class FactLog {
  #facts: ShimFact[] = [];
  #seq = 0;
  readonly #listeners = new Set<Listener>();

  /** The shimSeq of the newest fact (0: none yet). */
  get lastSeq(): number {
    return this.#seq;
  }

  /**
   * The shimSeq of the newest fact still kept (0: none): how far a follower can get. Facts
   * of deleted containers are forgotten, so a shim that hosted others before may have a
   * lastSeq no follower will ever see.
   */
  get lastKeptSeq(): number {
    return this.#facts.at(-1)?.shimSeq ?? 0;
  }

  append(f: Omit<ShimFact, 'shimSeq'>): ShimFact {
    const fact = { ...f, shimSeq: ++this.#seq };
    this.#facts.push(fact);
    for (const l of this.#listeners) l(fact);
    return fact;
  }

  /** Drops a deleted container's facts (the daemon has logged them by then). */
  forget(containerId: string): void {
    this.#facts = this.#facts.filter((f) => f.containerId !== containerId);
  }

  /** Facts after `after`, then live ones, until `signal` aborts. Never a duplicate. */
  async *follow(after: number, signal: AbortSignal): AsyncGenerator<ShimFact> {
    const queue: ShimFact[] = [];
    let wake: (() => void) | undefined;
    const listener: Listener = (f) => {
      queue.push(f);
      wake?.();
    };
    this.#listeners.add(listener);
    const onAbort = (): void => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      let next = after + 1;
      for (const f of this.#facts) {
        if (f.shimSeq >= next) {
          yield f;
          next = f.shimSeq + 1;
        }
      }
      while (!signal.aborted) {
        const f = queue.shift();
        if (!f) {
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
          continue;
        }
        if (f.shimSeq < next) continue;
        yield f;
        next = f.shimSeq + 1;
      }
    } finally {
      this.#listeners.delete(listener);
      signal.removeEventListener('abort', onAbort);
    }
  }
}
