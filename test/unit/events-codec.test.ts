// The codec's read path reads the msgpack it writes by hand (codec.ts, readBody) and falls
// back to msgpackr for anything else. These tests hold it to a reference decoder written the
// plain way (msgpackr, then the envelope's checks, then zod): the same event for every
// record the writer can produce, and the same event or the same reason for damaged bytes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeEvent, encodeEvent, pack, sha256, unpack, ZERO_HASH, type DecodeResult } from '../../src/events/codec.js';
import { EVENT_DATA, EVENT_VERSIONS, type Envelope, type EventType, type Fact } from '../../src/events/schemas.js';

const HASH_TRAILER = 34;

/** What decodeEvent returned before the fast path: msgpackr, the field checks, zod. */
function reference(value: Uint8Array): DecodeResult {
  const n = value.length - HASH_TRAILER;
  if (n <= 0 || value[n] !== 0xc4 || value[n + 1] !== 0x20) return { ok: false, reason: 'record has no hash trailer' };
  let raw: unknown;
  try {
    raw = unpack(value.subarray(0, n));
  } catch (e) {
    return { ok: false, reason: `undecodable record: ${e instanceof Error ? e.message : String(e)}` };
  }
  const uint = (x: unknown, min: number): boolean => typeof x === 'number' && Number.isInteger(x) && x >= min;
  const str = (x: unknown): boolean => typeof x === 'string';
  const checks: ((x: unknown) => boolean)[] = [
    (x) => uint(x, 1),
    (x) => uint(x, 0),
    str,
    str,
    (x) => str(x) && Object.hasOwn(EVENT_DATA, x as string),
    (x) => uint(x, 1),
    () => true,
    str,
    (x) => x === null || str(x),
    (x) => x === null || uint(x, 0),
    (x) => x instanceof Uint8Array && x.length === 32,
  ];
  if (!Array.isArray(raw) || raw.length !== checks.length) return { ok: false, reason: 'bad envelope at length' };
  for (let i = 0; i < checks.length; i++) if (!checks[i]!(raw[i])) return { ok: false, reason: `bad envelope at ${i}` };
  const [seq, ts, ns, id, type, _v, data, actor, req, shimSeq, prev] = raw as [number, number, string, string, EventType, number, unknown, string, string | null, number | null, Uint8Array];
  const parsed = EVENT_DATA[type].safeParse(data); // every type is at version 1: nothing to upcast
  if (!parsed.success) return { ok: false, reason: `bad ${type} data at ${parsed.error.issues[0]?.path.join('.') ?? '?'}` };
  return {
    ok: true,
    event: {
      seq,
      ts,
      ns,
      id,
      type,
      v: EVENT_VERSIONS[type],
      data: parsed.data,
      actor,
      ...(req !== null ? { req } : {}),
      ...(shimSeq !== null ? { shimSeq } : {}),
      prev: Buffer.from(prev).toString('hex'),
      hash: Buffer.from(value.subarray(n + 2)).toString('hex'),
    } as Envelope,
  };
}

/** decodeEvent and the reference agree, down to the key order of the event. */
function assertSame(value: Uint8Array): DecodeResult {
  const got = decodeEvent(value);
  const want = reference(value);
  assert.deepStrictEqual(got, want);
  if (got.ok && want.ok) assert.deepEqual(Object.keys(got.event), Object.keys(want.event));
  return got;
}

// Strings of every width: ASCII, 2-, 3- and 4-byte UTF-8, and long ones (str 8/16 headers).
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ minLength: 200, maxLength: 70_000 }),
);
const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/);
// Numbers of every msgpack width, both signs, and fractions.
const number = fc.oneof(
  fc.integer({ min: -200, max: 300 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)), // msgpackr writes -0 as 0
);
// msgpackr reads a '__proto__' key as '__proto_' (a separate test covers it).
const key = text.filter((k) => k !== '__proto__');
const labels = fc.dictionary(key, text, { maxKeys: 6, noNullPrototype: true });

const fact: fc.Arbitrary<Fact> = fc
  .record({
    ns: name,
    id: fc.oneof(fc.constant(''), name),
    actor: text,
    req: fc.option(fc.string({ maxLength: 128 }), { nil: undefined }),
    shimSeq: fc.option(fc.maxSafeNat(), { nil: undefined }),
    pick: fc.nat(4),
    labels,
    strings: fc.array(text, { maxLength: 5 }),
    durations: fc.dictionary(key, number, { maxKeys: 8, noNullPrototype: true }),
    pid: fc.maxSafeNat(),
  })
  .map(({ ns, id, actor, req, shimSeq, pick, labels, strings, durations, pid }): Fact => {
    const base = { ns, id, actor, ...(req !== undefined ? { req } : {}), ...(shimSeq !== undefined ? { shimSeq } : {}) };
    switch (pick) {
      case 0:
        return { ...base, type: 'ContainerCreated', data: { runtime: 'runc', bundle: strings[0] ?? '', args: strings, env: strings, cwd: '/', labels } };
      case 1:
        return { ...base, type: 'ContainerUpdated', data: { labels } };
      case 2:
        return { ...base, type: 'DaemonRecovered', data: { replayed: pid, snapshotSeq: 0, alive: 1, lost: 0, reconciled: 2, durations } };
      case 3:
        return { ...base, type: 'TaskPaused', data: {} };
      default:
        return { ...base, type: 'TaskStarted', data: { pid } };
    }
  });

const seqTs = fc.record({ seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), ts: fc.maxSafeNat() });

describe('codec: the read path', () => {
  test('decodes every record the writer produces exactly as the reference does', () => {
    fc.assert(
      fc.property(fact, seqTs, fc.uint8Array({ minLength: 32, maxLength: 32 }), (f, { seq, ts }, prev) => {
        const { value, hash } = encodeEvent(f, seq, ts, Buffer.from(prev));
        const r = assertSame(value);
        assert.ok(r.ok, r.ok ? '' : r.reason);
        assert.equal(r.event.hash, hash.toString('hex'));
        assert.equal(r.event.prev, Buffer.from(prev).toString('hex'));
        assert.deepEqual(r.event.data, f.data);
      }),
      { numRuns: 400 },
    );
  });

  test('damaged bytes give the same event or the same reason as the reference, and never throw', () => {
    const damage = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), byte: fc.constant(0) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(fact, seqTs, fc.array(damage, { minLength: 1, maxLength: 3 }), (f, { seq, ts }, damages) => {
        let bytes: Buffer = Buffer.from(encodeEvent(f, seq, ts, ZERO_HASH).value);
        for (const d of damages) {
          const at = d.at % Math.max(1, bytes.length);
          if (d.kind === 'flip') bytes[at] = d.byte;
          else if (d.kind === 'cut') bytes = bytes.subarray(0, at);
          else bytes = Buffer.concat([bytes.subarray(0, at), Buffer.of(d.byte), bytes.subarray(at)]);
        }
        assertSame(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  test('bodies the writer never produces take msgpackr path, with its result', () => {
    const record = (body: unknown[]): Buffer => {
      const b = pack(body);
      return Buffer.concat([b, Buffer.of(0xc4, 0x20), sha256(ZERO_HASH, b)]);
    };
    const good: unknown[] = [7, 1000, 'default', 'c1', 'ContainerUpdated', 1, { labels: { a: 'b' } }, 'test', null, null, ZERO_HASH];
    const cases: [string, unknown[] | Buffer][] = [
      ['a good body', good],
      ['a __proto__ label (msgpackr renames it)', good.with(6, { labels: JSON.parse('{"__proto__":"x","b":"c"}') as unknown })],
      ['a label map with a number key', good.with(6, { labels: new Map<unknown, unknown>([[1, 'x']]) })],
      ['binary data', good.with(6, { labels: { a: Buffer.of(1, 2) } })],
      ['a date', good.with(6, { labels: { a: new Date(0) } })],
      ['an unknown type', good.with(4, 'NoSuchEvent')],
      ['seq 0', good.with(0, 0)],
      ['a negative ts', good.with(1, -1)],
      ['a fractional seq', good.with(0, 1.5)],
      ['version 0', good.with(5, 0)],
      ['a number for an id', good.with(3, 12)],
      ['a numeric req', good.with(8, 5)],
      ['a string shimSeq', good.with(9, '5')],
      ['a short prev', good.with(10, Buffer.alloc(31))],
      ['a prev as a string', good.with(10, 'x'.repeat(32))],
      ['a body with 10 fields', good.slice(0, 10)],
      ['a body with 12 fields', [...good, null]],
      ['a map body', [{ seq: 1 }]],
      ['deep data', good.with(6, { labels: JSON.parse('['.repeat(100) + ']'.repeat(100)) as unknown })],
      ['a bare trailer', Buffer.of(0xc4, 0x20, ...ZERO_HASH)],
      ['trailing bytes in the body', Buffer.concat([pack(good), Buffer.of(0xc0, 0xc4, 0x20), ZERO_HASH])],
    ];
    for (const [what, body] of cases) {
      const value = Buffer.isBuffer(body) ? body : record(body);
      assert.doesNotThrow(() => assertSame(value), what);
    }
    const renamed = decodeEvent(record(cases[1]![1] as unknown[]));
    assert.ok(renamed.ok && renamed.event.type === 'ContainerUpdated');
    assert.deepEqual(Object.keys(renamed.event.data.labels), ['__proto_', 'b']);
    assert.equal(Object.getPrototypeOf(renamed.event.data.labels), Object.prototype);
  });

  test('a prev is the hex of its own bytes, whatever was decoded before or changed since', () => {
    const chain: Buffer[] = [];
    let prev: Buffer = ZERO_HASH;
    for (let seq = 1; seq <= 5; seq++) {
      const { value, hash } = encodeEvent({ type: 'TaskStarted', ns: 'default', id: 'c1', actor: 'test', data: { pid: seq } }, seq, seq, prev);
      chain.push(value);
      prev = hash;
    }
    for (const order of [
      [0, 1, 2, 3, 4],
      [4, 3, 2, 1, 0],
      [2, 2, 0, 4, 1, 3, 3],
    ]) {
      for (const i of order) assertSame(chain[i]!);
    }
    // A caller that reuses its buffer after a decode does not change what the next one reads.
    const reused = Buffer.from(chain[1]!);
    assertSame(reused);
    reused.fill(0xaa, reused.length - 32);
    assertSame(chain[2]!);
    assertSame(reused);
    assertSame(chain[2]!);
  });

  test('a plain Uint8Array decodes like a Buffer', () => {
    const { value } = encodeEvent({ type: 'TaskPaused', ns: 'default', id: 'c1', actor: 'test', data: {} }, 3, 4, ZERO_HASH);
    const copy = new Uint8Array(new ArrayBuffer(value.length + 8), 8, value.length);
    copy.set(value);
    assert.deepStrictEqual(decodeEvent(copy), decodeEvent(value));
    assertSame(copy);
  });
});
