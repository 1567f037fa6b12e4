// The CLI's gRPC client: one channel to the daemon's socket, the namespace and actor in
// metadata, a deadline on every ordinary unary call, errors mapped to ChronicleError.
// Loaded only by commands that talk to the daemon (grpc-js and proto-loader cost ~100 ms).
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { credentials, Metadata, status, type CallOptions, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { serviceClient, type ServiceName } from '../api/proto.js';
import { fromServiceError, CODE_TRAILER } from '../api/status.js';
import type { ChronicleError } from '../errors.js';

/** The daemon is not there (no socket, refused, gone): not an error the daemon sent. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
  constructor(readonly socket: string, options?: ErrorOptions) {
    super(`cannot reach chronicled: is chronicled running? socket ${socket}`, options);
  }
}

export interface ClientOptions {
  socket: string;
  namespace: string;
  timeoutMs: number;
  /** Long calls (Wait, follows) get a deadline only when the user asked for one. */
  timeoutExplicit: boolean;
}

type Unary = (req: unknown, md: Metadata, opts: CallOptions, cb: (err: ServiceError | null, res: unknown) => void) => void;
type Streaming = (req: unknown, md: Metadata, opts: CallOptions) => ClientReadableStream<unknown>;

// Reconnect quickly after a daemon restart (grpc-js's default backoff starts at 1 s and
// grows to 2 min), and never share a channel's subchannel with an older, broken one.
const CHANNEL_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.use_local_subchannel_pool': 1,
};

function actor(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? '?'}`;
  }
}

function isServiceError(e: unknown): e is ServiceError {
  return e instanceof Error && typeof (e as Partial<ServiceError>).code === 'number';
}

export class CliClient {
  readonly #opts: ClientOptions;
  readonly #clients = new Map<ServiceName, Client>();
  readonly #actor = actor();

  constructor(opts: ClientOptions) {
    this.#opts = opts;
  }

  get socket(): string {
    return this.#opts.socket;
  }

  /** A unary call. `long` calls (Wait) carry the deadline only if --timeout was given. */
  async unary<Res>(service: ServiceName, method: string, req: object, opts: { long?: boolean } = {}): Promise<Res> {
    const fn = this.#method<Unary>(service, method);
    const client = this.#client(service);
    const callOpts: CallOptions = {};
    if (!opts.long || this.#opts.timeoutExplicit) callOpts.deadline = Date.now() + this.#opts.timeoutMs;
    try {
      return await new Promise<Res>((resolve, reject) =>
        fn.call(client, req, this.#metadata(), callOpts, (err, res) => (err ? reject(err) : resolve(res as Res))),
      );
    } catch (e) {
      throw this.mapError(e);
    }
  }

  /** A server stream as an async iterable; ends quietly when `signal` aborts. */
  async *stream<Res>(service: ServiceName, method: string, req: object, signal?: AbortSignal): AsyncGenerator<Res> {
    const fn = this.#method<Streaming>(service, method);
    const callOpts: CallOptions = this.#opts.timeoutExplicit ? { deadline: Date.now() + this.#opts.timeoutMs } : {};
    const call = fn.call(this.#client(service), req, this.#metadata(), callOpts);
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const msg of call) yield msg as Res;
    } catch (e) {
      if (signal?.aborted && isServiceError(e) && e.code === status.CANCELLED) return;
      throw this.mapError(e);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
  }

  /** UNAVAILABLE without chronicle's code trailer came from the transport, not the daemon. */
  mapError(e: unknown): ChronicleError | UnreachableError {
    if (isServiceError(e) && e.code === status.UNAVAILABLE && e.metadata?.get(CODE_TRAILER).length === 0) return new UnreachableError(this.#opts.socket, { cause: e });
    return fromServiceError(e);
  }

  /** Drops the channels, so the next call dials afresh (after a daemon restart). */
  reset(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }

  close(): void {
    this.reset();
  }

  #metadata(): Metadata {
    const md = new Metadata();
    md.set('chronicle-namespace', this.#opts.namespace);
    md.set('chronicle-actor', this.#actor);
    return md;
  }

  #client(service: ServiceName): Client {
    let c = this.#clients.get(service);
    if (!c) {
      // A missing socket is known without dialling (and without grpc-js's retries).
      if (!existsSync(this.#opts.socket)) throw new UnreachableError(this.#opts.socket);
      const C = serviceClient(service);
      // One channel (one connection) for every service this command uses.
      const first = this.#clients.values().next().value;
      c = new C(`unix://${this.#opts.socket}`, credentials.createInsecure(), first ? { ...CHANNEL_OPTIONS, channelOverride: first.getChannel() } : CHANNEL_OPTIONS);
      this.#clients.set(service, c);
    }
    return c;
  }

  #method<F>(service: ServiceName, method: string): F {
    const fn = (this.#client(service) as unknown as Record<string, unknown>)[method];
    if (typeof fn !== 'function') throw new TypeError(`no method ${service}.${method}`);
    return fn as F;
  }
}
