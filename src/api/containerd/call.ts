// The facade's side of a gRPC call: the containerd namespace header becomes the call's
// namespace, the actor says the call came through the containerd API, and errors leave with
// containerd's codes and texts. The handlers then use the same path as chronicle.v1.
import { Metadata, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type UntypedHandleCall } from '@grpc/grpc-js';
import { ChronicleError, isChronicleError } from '../../errors.js';
import type { CallContext } from '../audit.js';
import { callContext, NAMESPACE_HEADER, streamWriter, type HandlerEnv } from '../handler.js';
import { toServiceError } from '../status.js';

export const CONTAINERD_NAMESPACE_HEADER = 'containerd-namespace';
/** Prefix of the actor of every call made through this facade (audit, History). */
export const ACTOR_PREFIX = 'containerd-api:';

export function facadeContext(env: HandlerEnv, op: string, md: Metadata, peer: string): CallContext {
  const raw = md.get(CONTAINERD_NAMESPACE_HEADER)[0];
  const translated = new Metadata();
  translated.set(NAMESPACE_HEADER, typeof raw === 'string' && raw !== '' ? raw : 'default');
  const ctx = callContext(env, op, translated, peer);
  ctx.actor = ACTOR_PREFIX + ctx.actor;
  if (ctx.nsError?.code === 'INVALID_ARGUMENT') {
    ctx.nsError = new ChronicleError('INVALID_ARGUMENT', `invalid ${CONTAINERD_NAMESPACE_HEADER}: must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,75}$`, { field: CONTAINERD_NAMESPACE_HEADER });
  }
  return ctx;
}

function asError(env: HandlerEnv, op: string, req: string | undefined, e: unknown): ChronicleError {
  if (isChronicleError(e)) return e;
  env.logger.error({ op, req, err: e }, 'internal error');
  return new ChronicleError('INTERNAL', `internal error (request ${req ?? 'unknown'})`);
}

/** Errors the way containerd words them (ctr prints them as they are). */
export const notFound = {
  container: (ns: string, id: string) => new ChronicleError('CONTAINER_NOT_FOUND', `container "${id}" in namespace "${ns}": not found`, { id }),
  task: (id: string) => new ChronicleError('NOT_FOUND', `task ${id} not found`, { id }),
  exec: (id: string, execId: string) => new ChronicleError('NOT_FOUND', `process ${execId} in task ${id}: not found`, { id, execId }),
  namespace: (ns: string) => new ChronicleError('NOT_FOUND', `namespace "${ns}": not found`, { ns }),
};

export function unimplemented(what: string): ChronicleError {
  return new ChronicleError('UNIMPLEMENTED', `${what}: not implemented`);
}

export function unary<Res>(env: HandlerEnv, op: string, fn: (req: unknown, ctx: CallContext, signal: AbortSignal) => Promise<Res>): UntypedHandleCall {
  return (call: ServerUnaryCall<unknown, Res>, callback: sendUnaryData<Res>) => {
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort());
    let ctx: CallContext | undefined;
    const run = async (): Promise<Res> => {
      if (!env.ready()) throw new ChronicleError('UNAVAILABLE', 'chronicled is recovering; try again shortly');
      ctx = facadeContext(env, op, call.metadata, call.getPeer());
      return fn(call.request, ctx, abort.signal);
    };
    const t0 = performance.now();
    run().then(
      (res) => {
        env.logger.debug({ op, req: ctx?.req, ms: Math.round((performance.now() - t0) * 10) / 10 }, 'ok');
        callback(null, res);
      },
      (e: unknown) => {
        const err = asError(env, op, ctx?.req, e);
        env.logger.debug({ op, req: ctx?.req, code: err.code, ms: Math.round((performance.now() - t0) * 10) / 10 }, err.message);
        callback(toServiceError(err), null);
      },
    );
  };
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
      ctx = facadeContext(env, op, call.metadata, call.getPeer());
      await fn(call.request, ctx, write, abort.signal);
    };
    run().then(
      () => call.end(),
      (e: unknown) => {
        if (abort.signal.aborted) return;
        const err = asError(env, op, ctx?.req, e);
        call.emit('error', Object.assign(new Error(err.message), toServiceError(err)));
      },
    );
  };
}
