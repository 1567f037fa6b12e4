// Moves a bad tail of the log aside, in one batch: every record from `fromSeq` on is copied
// to aside/<n>/<seq> (kept, never deleted), its log/ key and byid/ entry are removed, the
// snapshots that folded it are dropped, and meta/head is set back to the last good record.
import type { ClassicLevel } from 'classic-level';
import { unpack } from './codec.js';
import { asideKey, asidePrefixOf, byIdKey, encodeHead, logKey, META_HEAD, PREFIX, parseLogKey, prefixEnd, snapKey } from './keys.js';

const META_REPAIRS = Buffer.from('meta/repairs');

export interface MovedTail {
  count: number;
  lastSeq: number;
  prefix: string;
}

export async function moveTailAside(
  db: ClassicLevel<Buffer, Buffer>,
  fromSeq: number,
  goodHead: { seq: number; hash: Buffer },
): Promise<MovedTail> {
  const prior = await db.get(META_REPAIRS);
  const n = (prior?.length === 4 ? prior.readUInt32BE(0) : 0) + 1;
  const batch = db.batch();
  let count = 0;
  let lastSeq = fromSeq - 1;
  for await (const [key, value] of db.iterator({ gte: logKey(fromSeq), lt: prefixEnd(PREFIX.log) })) {
    const seq = parseLogKey(key);
    batch.put(asideKey(n, seq), value);
    batch.del(key);
    const owner = ownerOf(value);
    if (owner && owner.id !== '') batch.del(byIdKey(owner.ns, owner.id, seq));
    count++;
    lastSeq = seq;
  }
  for await (const key of db.keys({ gte: snapKey(fromSeq), lt: prefixEnd(PREFIX.snap) })) batch.del(key);
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(n);
  batch.put(META_REPAIRS, counter);
  batch.put(META_HEAD, encodeHead(goodHead.seq, goodHead.hash));
  await batch.write({ sync: true });
  return { count, lastSeq, prefix: asidePrefixOf(n).toString('utf8') };
}

/** ns and id of a record, read loosely: a damaged record may still name its container. */
function ownerOf(value: Buffer): { ns: string; id: string } | undefined {
  try {
    const body = unpack(value.subarray(0, Math.max(0, value.length - 34)));
    if (Array.isArray(body) && typeof body[2] === 'string' && typeof body[3] === 'string') return { ns: body[2], id: body[3] };
  } catch {
    // undecodable: its byid entry (if any) is skipped by readers, which check ns/id
  }
  return undefined;
}
