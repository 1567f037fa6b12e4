// Audit records: every call, including refused and failed ones, leaves one, in the same
// batch as the facts it produced (tied to them by `req`).
import { createHash } from 'node:crypto';
import { isChronicleError, type ChronicleError } from '../errors.js';
import { pack } from '../events/codec.js';
import { Id, type Fact } from '../events/schemas.js';

export interface CallContext {
  ns: string;
  /** The authenticated caller. */
  actor: string;
  /** What the client says it is (`chronicle-actor`): recorded, never trusted. */
  declaredActor?: string;
  req: string;
  op: string;
  startedAt: number;
  /** Set when the namespace header was malformed (ns is then ''), or is not the caller's. */
  nsError?: ChronicleError;
  /** The caller is confined to some namespaces: reads across namespaces show only ns. */
  confined?: boolean;
}

/** sha256 of the request's canonical encoding: what was asked, without storing secrets. */
export function digestOf(args: unknown): string {
  return createHash('sha256').update(pack(args)).digest('hex');
}

/** The id to file a record under: a malformed one is recorded as '' (it may not be key-safe). */
export function auditId(raw: unknown): string {
  return Id.safeParse(raw).success ? (raw as string) : '';
}

const DENIED = new Set(['TASK_STATE', 'FAILED_PRECONDITION', 'PERMISSION_DENIED', 'CONTAINER_EXISTS', 'ALREADY_EXISTS', 'CONTAINER_NOT_FOUND', 'NOT_FOUND']);

export function completed(ctx: CallContext, id: string, digest: string): Fact {
  return {
    type: 'RequestCompleted',
    ns: ctx.ns,
    id,
    actor: ctx.actor,
    req: ctx.req,
    data: { op: ctx.op, digest, durationMs: Date.now() - ctx.startedAt, ...(ctx.declaredActor ? { declaredActor: ctx.declaredActor } : {}) },
  };
}

/** RequestDenied for refusals (state, existence, permission), RequestFailed for the rest. */
export function refused(ctx: CallContext, id: string, digest: string, error: unknown): Fact {
  const code = isChronicleError(error) ? error.code : 'INTERNAL';
  const message = isChronicleError(error) ? error.message : 'internal error';
  const data = {
    op: ctx.op,
    digest,
    durationMs: Date.now() - ctx.startedAt,
    code,
    message: message.slice(0, 1024),
    ...(ctx.declaredActor ? { declaredActor: ctx.declaredActor } : {}),
  };
  return DENIED.has(code)
    ? { type: 'RequestDenied', ns: ctx.ns, id, actor: ctx.actor, req: ctx.req, data }
    : { type: 'RequestFailed', ns: ctx.ns, id, actor: ctx.actor, req: ctx.req, data };
}
