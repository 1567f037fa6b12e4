// A node's events as the stream holds them, checked from the stream alone (pure): seqs
// continuous (no gap), each once (no duplicate), and the hash chain intact, with the same
// ChainChecker the log uses. A stream that starts after seq 1 (retention dropped the
// oldest) is anchored on its first record's own prev.
import { ChainChecker } from '../events/hash-chain.js';
import { ZERO_HASH } from '../events/codec.js';
import type { Envelope } from '../events/schemas.js';

export type Continuity =
  | { ok: true; checked: number; firstSeq: number; lastSeq: number }
  | { ok: false; checked: number; seq: number; reason: string; streamSeq: number };

export class ContinuityChecker {
  #checker: ChainChecker | undefined;
  #checked = 0;
  #first = 0;
  #last = 0;
  #fault: Extract<Continuity, { ok: false }> | undefined;

  /** Feeds the next record; false once a fault is found. */
  add(value: Buffer, event: Envelope | undefined, error: string | undefined, streamSeq: number): boolean {
    if (this.#fault) return false;
    if (!event) return this.#fail(this.#last + 1, `a message does not decode: ${error ?? '?'}`, streamSeq);
    if (!this.#checker) {
      this.#first = event.seq;
      this.#checker = new ChainChecker(event.seq - 1, event.seq === 1 ? ZERO_HASH : Buffer.from(event.prev, 'hex'));
    }
    if (event.seq <= this.#last) return this.#fail(event.seq, `seq ${event.seq} is in the stream twice (after ${this.#last})`, streamSeq);
    if (!this.#checker.check(event.seq, value)) {
      const f = this.#checker.fault!;
      return this.#fail(f.seq, f.reason, streamSeq);
    }
    this.#last = event.seq;
    this.#checked++;
    return true;
  }

  result(): Continuity {
    return this.#fault ?? { ok: true, checked: this.#checked, firstSeq: this.#first, lastSeq: this.#last };
  }

  #fail(seq: number, reason: string, streamSeq: number): false {
    this.#fault = { ok: false, checked: this.#checked, seq, reason, streamSeq };
    return false;
  }
}
