// Adapts typed async functions to grpc-js handlers: the call context (namespace, actor,
// request id), error mapping, and the log line at the boundary. Generated shapes stop here.
import { randomUUID } from 'node:crypto';
import type { Metadata, sendUnaryData, ServerUnaryCall, ServerWritableStream, UntypedHandleCall } from '@grpc/grpc-js';
import type { Fact } from '../events/schemas.js';
import { ChronicleError, isChronicleError } from '../errors.js';
import type { Logger } from '../log.js';
import { auditId, digestOf, refused, type CallContext } from './audit.js';
import { Namespace } from './requests.js';
import { toServiceError } from './status.js';

type AuthContext = ReturnType<ServerUnaryCall<unknown, unknown>['getAuthContext']>;

export const NAMESPACE_HEADER = 'chronicle-namespace';
export const ACTOR_HEADER = 'chronicle-actor';

function header(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

export interface HandlerEnv {
  logger: Logger;
  /**
   * The identity of a caller on the unix socket. grpc-js does not expose the connection's
   * fd, so SO_PEERCRED cannot be read: this is the socket's owner (mode 0600, so only the
   * owner or root can connect), said so as `uid:N`.
   */
  actorOf: (peer: string) => string;
  /** Identities confined to some namespaces (cert:CN or uid:N -> namespaces). */
  namespaceLimits?: Readonly<Record<string, readonly string[]>>;
  /** Records a refusal made before the handler ran (a namespace outside the caller's). */
  audit?: (fact: Fact) => Promise<void>;
  /** Refuses calls until recovery is done (UNAVAILABLE). */
  ready: () => boolean;
}

/**
 * Builds the call context. A malformed namespace does not throw here: it is kept in
 * `nsError` so that mutating calls can audit the refusal before they throw it.
 */
export function callContext(env: HandlerEnv, op: string, md: Metadata, peer: string, auth?: AuthContext): CallContext {
  const declared = header(md, ACTOR_HEADER);
  // A TLS client is who its certificate says (the CA vouched for it); else the socket owner.
  const cn = auth?.sslPeerCertificate?.subject?.CN;
  const ctx: CallContext = {
    ns: 'default',
    actor: typeof cn === 'string' && cn ? `cert:${cn}` : env.actorOf(peer),
    ...(declared ? { declaredActor: declared.slice(0, 256) } : {}),
    req: randomUUID(),
    op,
    startedAt: Date.now(),
  };
  const ns = header(md, NAMESPACE_HEADER);
  if (ns !== undefined && ns !== '') {
    if (Namespace.safeParse(ns).success) ctx.ns = ns;
    else {
      ctx.ns = '';
      ctx.nsError = new ChronicleError('INVALID_ARGUMENT', `invalid ${NAMESPACE_HEADER}: must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,75}$`, {
        field: NAMESPACE_HEADER,
      });
    }
  }
  const allowed = env.namespaceLimits?.[ctx.actor];
  if (allowed) {
    ctx.confined = true;
    if (!ctx.nsError && !allowed.includes(ctx.ns)) {
      ctx.nsError = new ChronicleError('PERMISSION_DENIED', `${ctx.actor} may not use namespace ${ctx.ns}`, { field: NAMESPACE_HEADER });
    }
  }
  return ctx;
}

/** A caller outside its namespaces is refused before any handler runs, with an audit record. */
async function refuseOutsider(env: HandlerEnv, ctx: CallContext, req: unknown): Promise<void> {
  const e = ctx.nsError;
  if (e?.code !== 'PERMISSION_DENIED') return;
  const id = auditId(typeof req === 'object' && req !== null ? (req as { id?: unknown }).id : undefined);
  await env.audit?.(refused(ctx, id, digestOf(req), e)).catch(() => undefined);
  throw e;
}

function toError(env: HandlerEnv, ctx: { op: string; req?: string }, e: unknown): ChronicleError {
  if (isChronicleError(e)) return e;
  env.logger.error({ op: ctx.op, req: ctx.req, err: e }, 'internal error');
  return new ChronicleError('INTERNAL', `internal error (request ${ctx.req ?? 'unknown'})`);
}

export function unary<Res>(env: HandlerEnv, op: string, fn: (req: unknown, ctx: CallContext) => Promise<Res>): UntypedHandleCall {
  return (call: ServerUnaryCall<unknown, Res>, callback: sendUnaryData<Res>) => {
    let ctx: CallContext | undefined;
    const run = async (): Promise<Res> => {
      if (!env.ready()) throw new ChronicleError('UNAVAILABLE', 'chronicled is recovering; try again shortly');
      ctx = callContext(env, op, call.metadata, call.getPeer(), call.getAuthContext());
      await refuseOutsider(env, ctx, call.request);
      return fn(call.request, ctx);
    };
    run().then(
      (res) => {
        env.logger.debug({ op, req: ctx?.req }, 'ok');
        callback(null, res);
      },
      (e: unknown) => {
        const err = toError(env, { op, ...(ctx ? { req: ctx.req } : {}) }, e);
        env.logger.debug({ op, req: ctx?.req, code: err.code }, err.message);
        callback(toServiceError(err), null);
      },
    );
  };
}

/** Writes to a server stream with backpressure: waits for 'drain' when its buffer is full. */
export function streamWriter<Res>(call: ServerWritableStream<unknown, Res>, signal: AbortSignal): (msg: Res) => Promise<void> {
  return (msg) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new ChronicleError('UNAVAILABLE', 'stream closed'));
      if (call.write(msg)) return resolve();
      const onDrain = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        call.off('drain', onDrain);
        reject(new ChronicleError('UNAVAILABLE', 'stream closed'));
      };
      call.once('drain', onDrain);
      signal.addEventListener('abort', onAbort, { once: true });
    });
}

export function serverStream<Res>(
  env: HandlerEnv,
  op: string,
  fn: (req: unknown, ctx: CallContext, write: (msg: Res) => Promise<void>, signal: AbortSignal) => Promise<void>,
): UntypedHandleCall {
  return (call: ServerWritableStream<unknown, Res>) => {
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort());
    call.on('close', () => abort.abort());
    const write = streamWriter(call, abort.signal);
    let ctx: CallContext | undefined;
    const run = async (): Promise<void> => {
      if (!env.ready()) throw new ChronicleError('UNAVAILABLE', 'chronicled is recovering; try again shortly');
      ctx = callContext(env, op, call.metadata, call.getPeer(), call.getAuthContext());
      await refuseOutsider(env, ctx, call.request);
      await fn(call.request, ctx, write, abort.signal);
    };
    run().then(
      () => call.end(),
      (e: unknown) => {
        if (abort.signal.aborted) return;
        const err = toError(env, { op, ...(ctx ? { req: ctx.req } : {}) }, e);
        // emit('error') sends the status; destroy() on a stream that wrote nothing never does.
        call.emit('error', Object.assign(new Error(err.message), toServiceError(err)));
      },
    );
  };
}
