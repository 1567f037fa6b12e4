// The few protobuf messages the facade sends inside an Any (event payloads, metrics, process
// details) are encoded here by hand: proto-loader serialises only RPC messages, and these
// are small, flat and fixed by containerd's field numbers (containerd-api.md sections 2-3).
// Also: Any and Timestamp shapes for the RPC messages proto-loader does serialise.

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

function varint(n: bigint): Buffer {
  const bytes: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    bytes.push(b);
  } while (v > 0n);
  return Buffer.from(bytes);
}

function key(field: number, wire: number): Buffer {
  return varint(BigInt((field << 3) | wire));
}

/** Builds one message; proto3 defaults (0, '', false) are left out as Go leaves them out. */
export class ProtoWriter {
  readonly #parts: Buffer[] = [];

  uint(field: number, n: number | bigint | undefined): this {
    if (n === undefined) return this;
    const v = typeof n === 'bigint' ? n : BigInt(Math.max(0, Math.trunc(n)));
    if (v !== 0n) this.#parts.push(key(field, WIRE_VARINT), varint(v));
    return this;
  }

  int(field: number, n: number): this {
    if (n !== 0) this.#parts.push(key(field, WIRE_VARINT), varint(BigInt(Math.trunc(n))));
    return this;
  }

  bool(field: number, b: boolean): this {
    if (b) this.#parts.push(key(field, WIRE_VARINT), varint(1n));
    return this;
  }

  bytes(field: number, b: Uint8Array, always = false): this {
    if (b.length > 0 || always) this.#parts.push(key(field, WIRE_LEN), varint(BigInt(b.length)), Buffer.from(b));
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  /** A sub-message: sent even when empty (a set message field is not a default). */
  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish(), true);
  }

  /** map<string,string> entries. */
  map(field: number, m: Readonly<Record<string, string>>): this {
    for (const [k, v] of Object.entries(m)) this.message(field, new ProtoWriter().string(1, k).string(2, v));
    return this;
  }

  /** A packed repeated uint64. */
  packed(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    return this.bytes(field, Buffer.concat(values.map((v) => varint(BigInt(Math.max(0, Math.trunc(v)))))));
  }

  /** google.protobuf.Timestamp from ms since the epoch. */
  timestamp(field: number, ms: number): this {
    const t = timestamp(ms);
    return this.message(field, new ProtoWriter().int(1, t.seconds).int(2, t.nanos));
  }

  any(field: number, a: AnyMessage): this {
    return this.message(field, new ProtoWriter().string(1, a.type_url).bytes(2, a.value));
  }

  finish(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

/** google.protobuf.Any as proto-loader (keepCase) reads and writes it. */
export interface AnyMessage {
  type_url: string;
  value: Buffer;
}

export interface TimestampMessage {
  seconds: number;
  nanos: number;
}

/** Go's zero time.Time as gogo sends a non-nullable timestamp that was never set. */
export const GO_ZERO_TIME: TimestampMessage = { seconds: -62135596800, nanos: 0 };

export function timestamp(ms: number): TimestampMessage {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** A timestamp that is unset (0 or null) reads as Go's zero time. */
export function optionalTimestamp(ms: number | null | undefined): TimestampMessage {
  return ms ? timestamp(ms) : GO_ZERO_TIME;
}

/** ms since the epoch from a timestamp; Go's zero time and negatives read as 0. */
export function fromTimestamp(t: { seconds?: number | null; nanos?: number | null } | null | undefined): number {
  if (!t || !t.seconds || t.seconds < 0) return 0;
  return t.seconds * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

/** Fields of a flat protobuf message: varints as bigint, length-delimited as bytes (repeated: all). */
export function readFields(buf: Uint8Array): Map<number, (bigint | Buffer)[]> {
  const out = new Map<number, (bigint | Buffer)[]>();
  let i = 0;
  const readVarint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (i >= buf.length || shift > 63n) throw new RangeError('truncated varint');
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
    }
  };
  while (i < buf.length) {
    const key = readVarint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    let value: bigint | Buffer;
    if (wire === 0) value = readVarint();
    else if (wire === 2) {
      const len = Number(readVarint());
      if (i + len > buf.length) throw new RangeError('truncated field');
      value = Buffer.from(buf.subarray(i, i + len));
      i += len;
    } else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      if (i + len > buf.length) throw new RangeError('truncated field');
      value = Buffer.from(buf.subarray(i, i + len));
      i += len;
    } else throw new RangeError(`unsupported wire type ${wire}`);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}
