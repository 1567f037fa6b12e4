// chronicle.shim.v1 over gRPC: validates each request (INVALID_ARGUMENT naming the field),
// then hands it to the supervisor. Errors map through the shared status mapping; anything
// unexpected is INTERNAL and never takes the shim down.
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type * as z from 'zod';
import { ChronicleError, invalidArgument, isChronicleError } from '../errors.js';
import { toServiceError } from '../api/status.js';
import { SHIM_VERSION } from './handshake.js';
import { readLogs } from './logs.js';
import { CheckpointRequest, CreateRequest, EventsRequest, ExecRequest, IdRequest, KillRequest, LogsRequest, RestoreRequest, ShutdownRequest } from './shim-requests.js';
import type { Supervisor } from './supervisor.js';

function parse<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const r = schema.safeParse(raw);
  if (!r.success) throw invalidArgument(r.error.issues);
  return r.data;
}

export type ShimLog = (msg: string, extra?: Record<string, unknown>) => void;

export function shimImplementation(sup: Supervisor, shutdown: (force: boolean) => void, log: ShimLog = () => undefined): UntypedServiceImplementation {
  /** A ChronicleError as is; anything else is a bug: logged with its stack, INTERNAL outside. */
  const asError = (e: unknown): ChronicleError => {
    if (isChronicleError(e)) return e;
    log('internal error', { err: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    return new ChronicleError('INTERNAL', e instanceof Error ? e.message : String(e));
  };
  const unary =
    <T>(fn: (req: unknown) => Promise<T> | T) =>
    (call: ServerUnaryCall<unknown, T>, cb: sendUnaryData<T>): void => {
      Promise.resolve()
        .then(() => fn(call.request))
        .then(
          (r) => cb(null, r),
          (e: unknown) => cb(toServiceError(asError(e)), null),
        );
    };
  return {
    Create: unary(async (raw) => {
      const t0 = performance.now();
      const r = parse(CreateRequest, raw);
      const created = await sup.create(r);
      log('created', { cid: r.id, runtime: r.runtime, bundle: r.bundle, initPid: created.pid, durationMs: Math.round(performance.now() - t0) });
      return created;
    }),
    Start: unary((raw) => sup.start(parse(IdRequest, raw).id)),
    State: unary((raw) => {
      const r = parse(IdRequest, raw);
      return sup.state(r.id, r.execId);
    }),
    PID: unary(() => ({ pid: process.pid, version: SHIM_VERSION, tasks: sup.states(), lastShimSeq: sup.facts.lastKeptSeq })),
    Pids: unary(async (raw) => ({ pids: await sup.pids(parse(IdRequest, raw).id) })),
    Pause: unary((raw) => sup.pause(parse(IdRequest, raw).id)),
    Resume: unary((raw) => sup.resume(parse(IdRequest, raw).id)),
    Kill: unary(async (raw) => {
      const r = parse(KillRequest, raw);
      await sup.kill(r.id, r.execId, r.signal, r.all);
      return {};
    }),
    Exec: unary((raw) => {
      const r = parse(ExecRequest, raw);
      return sup.exec(r.id, r.execId, r.args, r.env, r.cwd, { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr });
    }),
    CloseIO: unary((raw) => {
      const r = parse(IdRequest, raw);
      sup.closeStdin(r.id, r.execId);
      return {};
    }),
    Wait: (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      unary(async (raw) => {
        const r = parse(IdRequest, raw);
        const e = await sup.wait(r.id, r.execId, abort.signal);
        return { exitCode: e.exitCode, exitedAt: e.exitedAt, signal: e.signal ?? '' };
      })(call, cb);
    },
    Delete: unary(async (raw) => {
      const id = parse(IdRequest, raw).id;
      const e = await sup.delete(id);
      log('deleted', { cid: id, exitCode: e.exitCode });
      return { exitCode: e.exitCode, exitedAt: e.exitedAt, signal: e.signal ?? '' };
    }),
    Checkpoint: unary(async (raw) => {
      const r = parse(CheckpointRequest, raw);
      const cp = await sup.checkpoint(r);
      log('checkpointed', { cid: r.id, imagePath: r.imagePath, bytes: cp.bytes, leftRunning: cp.leftRunning, durationMs: Math.round(cp.durationMs) });
      return {
        bytes: cp.bytes,
        digest: cp.digest,
        files: cp.files,
        durationMs: cp.durationMs,
        leftRunning: cp.leftRunning,
        pid: cp.pid,
        exited: cp.exit !== undefined,
        exit: cp.exit ? { exitCode: cp.exit.exitCode, exitedAt: cp.exit.exitedAt, signal: cp.exit.signal ?? '' } : undefined,
      };
    }),
    Restore: unary(async (raw) => {
      const t0 = performance.now();
      const r = parse(RestoreRequest, raw);
      const restored = await sup.restore(r);
      log('restored', { cid: r.id, imagePath: r.imagePath, initPid: restored.pid, durationMs: Math.round(performance.now() - t0) });
      return restored;
    }),
    Stats: unary((raw) => sup.stats(parse(IdRequest, raw).id)),
    Shutdown: unary((raw) => {
      const r = parse(ShutdownRequest, raw);
      if (sup.live && !r.force) throw new ChronicleError('FAILED_PRECONDITION', 'the shim still hosts live containers: delete them or force', {});
      log('shutdown requested', { force: r.force });
      setImmediate(() => shutdown(r.force));
      return {};
    }),
    Logs: (call: ServerWritableStream<unknown, unknown>) => {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      void (async () => {
        const r = parse(LogsRequest, call.request);
        const out = sup.output(r.id, r.execId);
        const streams: ('stdout' | 'stderr')[] = r.stream === '' ? ['stdout', 'stderr'] : [r.stream];
        const exited = sup.wait(r.id, r.execId, abort.signal).catch(() => undefined);
        for await (const chunk of readLogs(out, { follow: r.follow, streams, done: out.done, signal: abort.signal, exited })) {
          if (!call.write(chunk)) await new Promise((res) => call.once('drain', res));
        }
        call.end();
      })().catch((e: unknown) => call.emit('error', Object.assign(new Error(asError(e).message), toServiceError(asError(e)))));
    },
    Events: (call: ServerWritableStream<unknown, unknown>) => {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      call.on('close', () => abort.abort());
      let after: number;
      try {
        after = parse(EventsRequest, call.request).after;
      } catch (e) {
        call.emit('error', Object.assign(new Error(asError(e).message), toServiceError(asError(e))));
        return;
      }
      void (async () => {
        for await (const f of sup.facts.follow(after, abort.signal)) {
          if (!call.write(f)) await new Promise((r) => call.once('drain', r));
        }
      })().catch(() => undefined);
    },
  };
}
