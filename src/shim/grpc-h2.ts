// gRPC calls to one shim over one HTTP/2 session on its unix socket, without grpc-js's
// channel machinery (name resolver, load balancer, subchannel pool, interceptors, call
// credentials). Recovery connects to every shim the log names, and that machinery cost the
// daemon ~2.5 ms of CPU per shim: connect + PID() took 3.6-5.1 ms of client CPU through
// grpc-js (3 runs) and 1.7-2.5 ms this way (10 runs; 6 shims x 5 rounds, medians, measured
// here). The shims still serve with grpc-js; this speaks the same wire protocol:
// length-prefixed messages, the status in the trailers (or in the headers of a
// trailers-only reply).
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { Metadata, status } from '@grpc/grpc-js';

/** What grpc-js calls a ServiceError: what fromServiceError maps back to a ChronicleError. */
export interface GrpcError extends Error {
  code: number;
  details: string;
  metadata: Metadata;
}

export function grpcError(code: number, details: string, metadata = new Metadata()): GrpcError {
  return Object.assign(new Error(`${code} ${status[code] ?? 'UNKNOWN'}: ${details}`), { code, details, metadata });
}

function isGrpcError(e: unknown): e is GrpcError {
  return e instanceof Error && 'code' in e && typeof e.code === 'number' && 'metadata' in e && e.metadata instanceof Metadata;
}

/** A GrpcError as is; anything else (a socket or HTTP/2 error) as `code`. */
function asGrpcError(e: unknown, code: number): GrpcError {
  return isGrpcError(e) ? e : grpcError(code, e instanceof Error ? e.message : String(e));
}

/** A call in flight, and its final headers (the trailers, or a trailers-only reply's headers) once they came. */
interface Call {
  stream: ClientHttp2Stream;
  final: () => IncomingHttpHeaders | undefined;
}

/** grpc-timeout allows at most 8 digits: milliseconds up to ~27 h, seconds beyond. */
function timeoutHeader(ms: number): string {
  const m = Math.max(1, Math.ceil(ms));
  return m < 1e8 ? `${m}m` : `${Math.ceil(m / 1000)}S`;
}

function frame(message: Buffer): Buffer {
  const f = Buffer.allocUnsafe(5 + message.length);
  f[0] = 0; // not compressed
  f.writeUInt32BE(message.length, 1);
  message.copy(f, 5);
  return f;
}

/** Splits a stream's data into its length-prefixed messages. */
class MessageReader {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    const buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const out: Buffer[] = [];
    let at = 0;
    while (buf.length - at >= 5) {
      const len = buf.readUInt32BE(at + 1);
      if (buf.length - at < 5 + len) break;
      if (buf[at] !== 0) throw grpcError(status.INTERNAL, 'compressed message, none was asked for');
      out.push(buf.subarray(at + 5, at + 5 + len));
      at += 5 + len;
    }
    this.#pending = buf.subarray(at);
    return out;
  }
}

/** The call's outcome from its final headers: undefined when OK, else the error. */
function statusError(h: IncomingHttpHeaders): GrpcError | undefined {
  const code = Number(h['grpc-status']);
  if (code === Number(status.OK)) return undefined;
  let details = String(h['grpc-message'] ?? '');
  try {
    details = decodeURIComponent(details);
  } catch {
    // not percent-encoded after all: as sent
  }
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith(':') || k.startsWith('grpc-') || k.endsWith('-bin') || k === 'content-type' || v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) metadata.add(k, one);
  }
  return grpcError(Number.isInteger(code) ? code : status.UNKNOWN, details, metadata);
}

export class GrpcH2Connection {
  #session: ClientHttp2Session | undefined;
  /** Calls in flight: the session keeps the process alive only while there are some. */
  #active = 0;
  #closed = false;

  constructor(readonly socketPath: string) {}

  #open(): ClientHttp2Session {
    const current = this.#session;
    if (current && !current.closed && !current.destroyed) return current;
    const session = connect('http://localhost', { createConnection: () => netConnect(this.socketPath) });
    session.on('error', () => undefined); // each call reports the failure it sees
    const forget = (): void => {
      if (this.#session === session) this.#session = undefined;
    };
    // A shim shutting down sends GOAWAY: calls after it need a new session.
    session.once('goaway', forget);
    session.once('close', forget);
    session.unref();
    this.#session = session;
    return session;
  }

  #request(path: string, message: Buffer, timeoutMs: number | undefined): Call {
    if (this.#closed) throw grpcError(status.UNAVAILABLE, 'connection closed');
    const session = this.#open();
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...(timeoutMs === undefined ? {} : { 'grpc-timeout': timeoutHeader(timeoutMs) }),
    });
    if (this.#active++ === 0) session.ref();
    stream.once('close', () => {
      if (--this.#active === 0 && !session.destroyed) session.unref();
    });
    let final: IncomingHttpHeaders | undefined;
    stream.on('response', (h) => {
      if (h['grpc-status'] !== undefined) final = h;
    });
    stream.on('trailers', (h: IncomingHttpHeaders) => void (final = h));
    stream.end(frame(message));
    return { stream, final: () => final };
  }

  /** One request, one reply, within `timeoutMs`. Rejects with a GrpcError. */
  unary(path: string, message: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let call: Call;
      try {
        call = this.#request(path, message, timeoutMs);
      } catch (e) {
        reject(asGrpcError(e, status.UNAVAILABLE));
        return;
      }
      const { stream } = call;
      const reader = new MessageReader();
      const replies: Buffer[] = [];
      let failure: unknown;
      let settled = false;
      const settle = (err: GrpcError | undefined, reply?: Buffer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(reply ?? Buffer.alloc(0));
      };
      const timer = setTimeout(() => {
        settle(grpcError(status.DEADLINE_EXCEEDED, `Deadline exceeded after ${timeoutMs} ms`));
        stream.close(constants.NGHTTP2_CANCEL);
      }, timeoutMs);
      stream.on('data', (chunk: Buffer) => {
        try {
          replies.push(...reader.push(chunk));
        } catch (e) {
          failure ??= e;
        }
      });
      stream.on('error', (e: Error) => void (failure ??= e));
      stream.on('close', () => {
        // A reply that could not be read fails the call, whatever status followed it.
        if (isGrpcError(failure)) return settle(failure);
        const final = call.final();
        if (!final) return settle(failure ? asGrpcError(failure, status.UNAVAILABLE) : grpcError(status.UNAVAILABLE, `stream closed without a status (${stream.rstCode ?? 'no RST'})`));
        const err = statusError(final);
        if (err) return settle(err);
        if (replies.length !== 1) return settle(grpcError(status.INTERNAL, `${replies.length} replies to a unary call`));
        settle(undefined, replies[0]);
      });
    });
  }

  /** A server-streaming call: its replies until the server ends it (or `signal` aborts it). */
  async *serverStream(path: string, message: Buffer, signal?: AbortSignal): AsyncGenerator<Buffer> {
    let call: Call;
    try {
      call = this.#request(path, message, undefined);
    } catch (e) {
      throw asGrpcError(e, status.UNAVAILABLE);
    }
    const { stream } = call;
    const closed = new Promise((r) => stream.once('close', r));
    const onAbort = (): void => void stream.close(constants.NGHTTP2_CANCEL);
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const broken = (): number => (signal?.aborted ? status.CANCELLED : status.UNAVAILABLE);
    const reader = new MessageReader();
    try {
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) yield* reader.push(chunk);
      } catch (e) {
        throw asGrpcError(e, broken());
      }
      // The trailers may come with the end of the data or just after it.
      if (!call.final()) await closed;
      const final = call.final();
      if (!final) throw grpcError(broken(), `stream ended without a status (${stream.rstCode ?? 'no RST'})`);
      const err = statusError(final);
      if (err) throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    }
  }

  /** No new calls; those in flight finish. */
  close(): void {
    this.#closed = true;
    this.#session?.close();
    this.#session = undefined;
  }
}
