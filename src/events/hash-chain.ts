// The sha256 chain over stored records. `ChainChecker` is fed records in key order and
// reports the first one that breaks the chain: a missing seq, an undecodable value, a body
// whose seq or prev disagrees with its place, a hash that does not match its bytes, or a
// timestamp that goes backwards. It does no I/O, so verify, the open-time tail check and
// the fleet's stream check share it.
import { decodeEvent, sha256, splitValue } from './codec.js';
import type { Envelope } from './schemas.js';

export type ChainFault = { seq: number; reason: string };

export class ChainChecker {
  #expectedSeq: number;
  #prev: Buffer;
  #lastTs: number;
  #fault: ChainFault | undefined;

  /** Starts after `afterSeq`, whose hash is `prev` (ZERO_HASH before seq 1). */
  constructor(afterSeq: number, prev: Buffer, lastTs = 0) {
    this.#expectedSeq = afterSeq + 1;
    this.#prev = prev;
    this.#lastTs = lastTs;
  }

  get fault(): ChainFault | undefined {
    return this.#fault;
  }

  /** Seq of the last record that checked out. */
  get lastGoodSeq(): number {
    return this.#expectedSeq - 1;
  }

  get lastHash(): Buffer {
    return this.#prev;
  }

  get lastTs(): number {
    return this.#lastTs;
  }

  /** Checks the record stored under `keySeq`; returns its event, or undefined at the first fault. */
  check(keySeq: number, value: Uint8Array): Envelope | undefined {
    if (this.#fault) return undefined;
    const seq = this.#expectedSeq;
    if (keySeq !== seq) return this.#fail(seq, `record ${seq} is missing (next stored is ${keySeq})`);
    const parts = splitValue(value);
    if (!parts) return this.#fail(seq, 'record has no hash trailer');
    const decoded = decodeEvent(value);
    if (!decoded.ok) return this.#fail(seq, decoded.reason);
    const e = decoded.event;
    if (e.seq !== seq) return this.#fail(seq, `record under seq ${seq} says seq ${e.seq}`);
    if (e.prev !== this.#prev.toString('hex')) return this.#fail(seq, 'prev does not match the previous hash');
    const hash = sha256(this.#prev, parts.body);
    if (!hash.equals(parts.hash)) return this.#fail(seq, 'hash does not match the record bytes');
    if (e.ts < this.#lastTs) return this.#fail(seq, 'timestamp goes backwards');
    this.#prev = hash;
    this.#lastTs = e.ts;
    this.#expectedSeq = seq + 1;
    return e;
  }

  /** Call when the records ran out: a head beyond the last record means a lost tail. */
  finish(headSeq: number): ChainFault | undefined {
    if (!this.#fault && headSeq >= this.#expectedSeq) {
      this.#fault = { seq: this.#expectedSeq, reason: `record ${this.#expectedSeq} is missing (head is ${headSeq})` };
    }
    return this.#fault;
  }

  #fail(seq: number, reason: string): undefined {
    this.#fault = { seq, reason };
    return undefined;
  }
}
