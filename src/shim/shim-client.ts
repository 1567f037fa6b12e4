// The daemon's side of a shim: typed calls with a deadline each (over grpc-h2.ts), replies
// validated by zod, gRPC errors mapped back to ChronicleError codes.
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import * as z from 'zod';
import { fromServiceError } from '../api/status.js';
import { GrpcH2Connection } from './grpc-h2.js';
import { shimService } from './proto.js';

const StateReply = z.object({
  id: z.string(),
  execId: z.string(),
  pid: z.number(),
  status: z.enum(['created', 'running', 'paused', 'stopped']),
  exitCode: z.number(),
  exitedAt: z.number(),
  bundle: z.string(),
  runtime: z.string(),
});
export type ShimState = z.infer<typeof StateReply>;
const CreateReply = z.object({ pid: z.number(), stdout: z.string(), stderr: z.string() });
const PidReply = z.object({ pid: z.number(), version: z.string(), tasks: z.array(StateReply), lastShimSeq: z.number() });
export type PidReply = z.infer<typeof PidReply>;
const PidsReply = z.object({ pids: z.array(z.number()) });
const ExitReply = z.object({ exitCode: z.number(), exitedAt: z.number(), signal: z.string() });
export type ShimExit = z.infer<typeof ExitReply>;
export const ImageFileMessage = z.object({ name: z.string(), bytes: z.number(), sha256: z.string() });
const CheckpointReply = z.object({
  bytes: z.number(),
  digest: z.string(),
  files: z.array(ImageFileMessage),
  durationMs: z.number(),
  leftRunning: z.boolean(),
  pid: z.number(),
  exited: z.boolean(),
  exit: ExitReply.nullish(),
});
export type ShimCheckpoint = z.infer<typeof CheckpointReply>;
const StatsReply = z.object({ cpuUsageNs: z.number(), memoryBytes: z.number(), pids: z.number() });
const Empty = z.object({});
export const ShimFactMessage = z.object({
  shimSeq: z.number().int().positive(),
  containerId: z.string(),
  type: z.enum(['exit', 'oom', 'exec-exit']),
  pid: z.number(),
  exitCode: z.number(),
  signal: z.string(),
  exitedAt: z.number(),
  execId: z.string(),
});
export type ShimFactMessage = z.infer<typeof ShimFactMessage>;

const LogChunkMessage = z.object({ stream: z.string(), data: z.instanceof(Buffer) });

export interface CreateArgs {
  id: string;
  bundle: string;
  runtime: 'runc' | 'process';
  args?: string[];
  env?: string[];
  cwd?: string;
  stdout?: string;
  stderr?: string;
  /** runc: a runc-compatible CLI for this container (default: the shim's --runtime-binary). */
  runtimeBinary?: string;
  /** runc: its --root for this container (default: the shim's --runc-root). */
  runcRoot?: string;
  stdin?: string;
}

export class ShimClient implements Disposable {
  readonly #conn: GrpcH2Connection;
  readonly #methods: ServiceDefinition;
  readonly address: string;
  readonly timeoutMs: number;

  constructor(address: string, timeoutMs = 10_000) {
    this.address = address;
    this.timeoutMs = timeoutMs;
    this.#methods = shimService().service;
    this.#conn = new GrpcH2Connection(address);
  }

  #method(name: string): MethodDefinition<unknown, unknown> {
    const m = this.#methods[name];
    if (!m) throw new TypeError(`no shim method ${name}`);
    return m;
  }

  async #call<S extends z.ZodType>(name: string, req: unknown, schema: S, timeoutMs = this.timeoutMs): Promise<z.infer<S>> {
    const m = this.#method(name);
    let res: unknown;
    try {
      res = m.responseDeserialize(await this.#conn.unary(m.path, m.requestSerialize(req), timeoutMs));
    } catch (e) {
      throw fromServiceError(e);
    }
    const parsed = schema.safeParse(res);
    if (!parsed.success) throw fromServiceError(new Error(`bad ${name} reply from shim`));
    return parsed.data;
  }

  /** A server-streaming call's replies, decoded (not yet validated). */
  async *#stream(name: string, req: unknown, signal?: AbortSignal): AsyncGenerator<unknown> {
    const m = this.#method(name);
    for await (const bytes of this.#conn.serverStream(m.path, m.requestSerialize(req), signal)) yield m.responseDeserialize(bytes);
  }

  create(a: CreateArgs): Promise<z.infer<typeof CreateReply>> {
    return this.#call('Create', { args: [], env: [], cwd: '', stdin: '', stdout: '', stderr: '', runtimeBinary: '', runcRoot: '', ...a }, CreateReply, 60_000);
  }
  start(id: string): Promise<ShimState> {
    return this.#call('Start', { id }, StateReply);
  }
  state(id: string, execId = ''): Promise<ShimState> {
    return this.#call('State', { id, execId }, StateReply);
  }
  pid(timeoutMs?: number): Promise<PidReply> {
    return this.#call('PID', {}, PidReply, timeoutMs);
  }
  async pids(id: string): Promise<number[]> {
    return (await this.#call('Pids', { id }, PidsReply)).pids;
  }
  pause(id: string): Promise<ShimState> {
    return this.#call('Pause', { id }, StateReply);
  }
  resume(id: string): Promise<ShimState> {
    return this.#call('Resume', { id }, StateReply);
  }
  async kill(id: string, signal: number, opts: { all?: boolean; execId?: string } = {}): Promise<void> {
    await this.#call('Kill', { id, signal, all: opts.all ?? false, execId: opts.execId ?? '' }, Empty);
  }
  exec(id: string, execId: string, args: string[], opts: { env?: string[]; cwd?: string; stdin?: string; stdout?: string; stderr?: string } = {}): Promise<z.infer<typeof CreateReply>> {
    return this.#call('Exec', { id, execId, args, env: opts.env ?? [], cwd: opts.cwd ?? '', stdin: opts.stdin ?? '', stdout: opts.stdout ?? '', stderr: opts.stderr ?? '' }, CreateReply, 60_000);
  }
  /** Closes the shim's keep-alive writer on the stdin of a container's init or exec. */
  async closeIO(id: string, execId = ''): Promise<void> {
    await this.#call('CloseIO', { id, execId }, Empty);
  }
  /** Blocks until the process exits (up to timeoutMs, default one day). */
  wait(id: string, execId = '', timeoutMs = 86_400_000): Promise<ShimExit> {
    return this.#call('Wait', { id, execId }, ExitReply, timeoutMs);
  }
  delete(id: string): Promise<ShimExit> {
    return this.#call('Delete', { id }, ExitReply, 30_000);
  }
  /** CRIU dumps take as long as the memory is large: a generous deadline. */
  checkpoint(a: { id: string; imagePath: string; workPath: string; leaveRunning: boolean; criu: string }): Promise<ShimCheckpoint> {
    return this.#call('Checkpoint', a, CheckpointReply, 180_000);
  }
  restore(a: { id: string; bundle: string; imagePath: string; workPath: string; criu: string; stdout?: string; stderr?: string; runtimeBinary?: string; runcRoot?: string }): Promise<z.infer<typeof CreateReply>> {
    return this.#call('Restore', { stdout: '', stderr: '', runtimeBinary: '', runcRoot: '', ...a }, CreateReply, 180_000);
  }
  stats(id: string): Promise<z.infer<typeof StatsReply>> {
    return this.#call('Stats', { id }, StatsReply);
  }
  async shutdown(force = false): Promise<void> {
    await this.#call('Shutdown', { force }, Empty);
  }

  /** The shim's facts after `after`, then live; ends when the stream does (or on abort). */
  async *events(after: number, signal?: AbortSignal): AsyncGenerator<ShimFactMessage> {
    try {
      for await (const raw of this.#stream('Events', { after }, signal)) {
        const f = ShimFactMessage.safeParse(raw);
        if (f.success) yield f.data;
      }
    } catch (e) {
      if (!signal?.aborted) throw fromServiceError(e);
    }
  }

  /** stdout/stderr of a container or exec; with follow, until it exits and all is read. */
  async *logs(id: string, opts: { execId?: string; follow?: boolean; stream?: '' | 'stdout' | 'stderr'; signal?: AbortSignal } = {}): AsyncGenerator<{ stream: string; data: Buffer }> {
    try {
      for await (const raw of this.#stream('Logs', { id, execId: opts.execId ?? '', follow: opts.follow ?? false, stream: opts.stream ?? '' }, opts.signal)) {
        const c = LogChunkMessage.safeParse(raw);
        if (c.success) yield c.data;
      }
    } catch (e) {
      if (!opts.signal?.aborted) throw fromServiceError(e);
    }
  }

  close(): void {
    this.#conn.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
