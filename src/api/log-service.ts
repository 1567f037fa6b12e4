// chronicle.v1.Log: retention. Compact moves the events before a point into an archive file
// (events/compaction.ts) through the mutation path, so the call leaves LogCompacted and its
// audit record like any other change; Archives lists what was moved and where.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { join } from 'node:path';
import * as z from 'zod';
import { ChronicleError } from '../errors.js';
import type { ArchiveEntry } from '../events/archive.js';
import { compact } from '../events/compaction.js';
import type { EventLog } from '../events/event-log.js';
import { encodeSnapshot, stateAt } from '../projections/index.js';
import { unary, type HandlerEnv } from './handler.js';
import { firstSeqAt } from './history-queries.js';
import type { Mutations } from './mutation.js';
import { parsePoint } from './point.js';
import { parseRequest } from './requests.js';

const CompactRequest = z.object({ before: z.string().max(64, 'must be at most 64 characters') });

export interface LogServiceDeps {
  env: HandlerEnv;
  log: EventLog;
  mutations: Mutations;
  /** Where archive files are written (<root>/archive). */
  archiveDir: string;
}

function archiveMessage(a: ArchiveEntry): Record<string, unknown> {
  return { path: a.path, fromSeq: a.fromSeq, toSeq: a.toSeq, count: a.count, bytes: a.bytes, sha256: a.sha256, firstTs: a.firstTs, lastTs: a.lastTs };
}

/** The first seq to keep: a seq as given, or the first event at or after a time (the head at most). */
async function cutOf(log: EventLog, spec: string): Promise<number> {
  const p = parsePoint(spec, Date.now(), 'before');
  if (p.kind === 'head') throw new ChronicleError('INVALID_ARGUMENT', 'invalid before: a seq or a time is required', { field: 'before' });
  const first = await firstSeqAt(log, p);
  return p.kind === 'time' ? Math.min(first, log.head().seq) : first;
}

export function logService(deps: LogServiceDeps): UntypedServiceImplementation {
  const { env, log, mutations } = deps;
  return {
    Compact: unary(env, 'log.Compact', (raw, ctx) =>
      mutations.run(
        ctx,
        raw,
        (r) => ({ id: '', ...parseRequest(CompactRequest, r) }),
        async (req) => {
          // History is shared by every namespace: someone confined to some of them may not cut it.
          if (ctx.confined) throw new ChronicleError('PERMISSION_DENIED', `${ctx.actor} is limited to some namespaces and may not compact the log`);
          const entry = await compact(log, {
            beforeSeq: await cutOf(log, req.before),
            dir: deps.archiveDir,
            snapshotAt: async (seq) => encodeSnapshot(await stateAt(log, seq)),
          });
          const reply = { ...(entry ? { archive: archiveMessage(entry) } : {}), firstSeq: log.horizon };
          if (!entry) return { facts: [], reply };
          const { path: archive, fromSeq, toSeq, count, bytes, sha256, lastHash } = entry;
          return { facts: [{ type: 'LogCompacted', ns: '', id: '', actor: ctx.actor, data: { fromSeq, toSeq, count, archive, bytes, sha256, lastHash } }], reply };
        },
      ),
    ),

    Archives: unary(env, 'log.Archives', async () => ({ archives: log.archives().map(archiveMessage), firstSeq: log.horizon })),
  };
}

export const archiveDirOf = (root: string): string => join(root, 'archive');
