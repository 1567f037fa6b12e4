// Retention: `compact(before)` moves the events before a seq out of LevelDB into an archive
// file that still verifies, chain and all. The order makes every crash safe: the snapshot
// at the cut and the archive file are durable before the log records that it holds the
// range, and only then is anything deleted (EventLog.commitArchive; an interrupted delete
// is finished on the next open). The snapshot comes from the caller (the projections), so
// this module needs nothing above the events layer.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ChronicleError } from '../errors.js';
import { verifyArchive, writeArchive, type ArchiveEntry } from './archive.js';
import { ZERO_HASH } from './codec.js';
import type { EventLog, VerifyResult } from './event-log.js';

export interface CompactOptions {
  /** The first seq to keep: events before it are archived. At most the head seq. */
  beforeSeq: number;
  /** Where archive files go. */
  dir: string;
  /** The projection snapshot after `seq` (state-at), as bytes. */
  snapshotAt: (seq: number) => Promise<Buffer>;
}

/** What a compaction did: undefined when the log already starts at or after beforeSeq. */
export type CompactResult = ArchiveEntry | undefined;

const running = new WeakMap<EventLog, Promise<unknown>>();

/** One compaction at a time per log; concurrent callers queue. */
export function compact(log: EventLog, opts: CompactOptions): Promise<CompactResult> {
  const before = running.get(log) ?? Promise.resolve();
  const next = before.catch(() => undefined).then(() => compactNow(log, opts));
  running.set(log, next);
  return next;
}

async function compactNow(log: EventLog, opts: CompactOptions): Promise<CompactResult> {
  const head = log.head().seq;
  if (!Number.isSafeInteger(opts.beforeSeq) || opts.beforeSeq < 1) throw new ChronicleError('INVALID_ARGUMENT', 'invalid before: must be a seq of at least 1', { field: 'before' });
  if (opts.beforeSeq > head) {
    throw new ChronicleError('INVALID_ARGUMENT', `invalid before: seq ${opts.beforeSeq} is after the head (${head}); the head event always stays in the log`, { field: 'before' });
  }
  const fromSeq = log.horizon;
  const toSeq = opts.beforeSeq - 1;
  if (toSeq < fromSeq) return undefined;
  const fault = log.broken();
  if (fault) throw new ChronicleError('CHAIN_BROKEN', `cannot compact a broken log (seq ${fault.seq}: ${fault.reason}); repair it first`, { seq: fault.seq });
  const last = log.archives().at(-1);
  const startSnapshot = fromSeq > 1 ? await opts.snapshotAt(fromSeq - 1) : undefined;
  // Time travel after the cut starts from this snapshot once the events before it are gone.
  await log.putSnapshot(toSeq, await opts.snapshotAt(toSeq));
  await mkdir(opts.dir, { recursive: true });
  const path = join(opts.dir, `log-${pad(fromSeq)}-${pad(toSeq)}.chronarc`);
  const entry = await writeArchive(path, {
    fromSeq,
    toSeq,
    prev: last ? Buffer.from(last.lastHash, 'hex') : ZERO_HASH,
    ...(startSnapshot ? { startSnapshot } : {}),
    // The log's snapshots go along, so the state at an archived seq stays a short fold.
    snapshotSeqs: await log.snapshotSeqs(fromSeq, toSeq),
    snapshots: () => log.snapshots(fromSeq, toSeq),
    records: log.storedValues(fromSeq, toSeq),
  });
  await log.commitArchive(entry);
  return entry;
}

const pad = (n: number): string => String(n).padStart(12, '0');

/**
 * Verifies [fromSeq, toSeq] wherever it lives: each archive that overlaps it (whole, and
 * against what the log recorded of it, each following the one before), then the log itself,
 * whose first record must follow the last archive.
 */
export async function verifyHistory(log: EventLog, opts: { fromSeq?: number; toSeq?: number; signal?: AbortSignal } = {}): Promise<VerifyResult> {
  const from = opts.fromSeq ?? 1;
  const to = opts.toSeq ?? Number.MAX_SAFE_INTEGER;
  let checked = 0;
  let prev = ZERO_HASH.toString('hex');
  for (const a of log.archives()) {
    const follows = a.prev === prev;
    prev = a.lastHash;
    if (a.toSeq < from || a.fromSeq > to) continue;
    opts.signal?.throwIfAborted();
    if (!follows) return { ok: false, checked, seq: a.fromSeq, reason: `archive ${a.path} does not follow the archive before it` };
    const r = await verifyArchive(a.path, a);
    checked += r.checked;
    if (!r.ok) return { ok: false, checked, seq: r.seq, reason: `archive ${a.path}: ${r.reason}` };
  }
  if (to < log.horizon) return { ok: true, checked, fromSeq: from, toSeq: to };
  const r = await log.verify({ fromSeq: Math.max(from, log.horizon), ...(opts.toSeq !== undefined ? { toSeq: opts.toSeq } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  return r.ok ? { ...r, checked: r.checked + checked, fromSeq: Math.min(from, r.fromSeq) } : { ...r, checked: r.checked + checked };
}
