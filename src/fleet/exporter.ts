// Fleet export: every committed event, in seq order, to a JetStream stream, as the record
// the log stores (body + hash), so the chain can be verified from the stream alone.
//
// This side (the daemon's main thread) READS THE LOG from a cursor kept in LevelDB, not the
// live bus (the bus only wakes it up), and hands packed chunks of stored records to a worker
// thread that does the per-event work: decode, publish, collect JetStream's acks. So the
// writer never waits on NATS and pays little CPU for export, and after any outage (NATS
// down, daemon killed) export resumes where JetStream last acknowledged. A message id of
// <node>:<seq> lets JetStream drop a repeat inside its duplicate window; beyond it, each
// (re)start first asks the stream for this node's last event and continues after it, so
// every seq is in the stream once.
//
// Under a burst of local writes (commits at BUSY_EPS or more) export steps aside for up to
// deferMaxMs, then exports at full speed until it has caught up: on two cores, the export's
// per-event work (the worker's publish and ack, and nats-server's, when it runs on the same
// machine) took a third of the writer's throughput (bench:fleet, local_append_slowdown
// 0.58-0.69), and a node's own lifecycle writes come first. The price is lag during bursts.
import { Worker } from 'node:worker_threads';
import type { Subscription } from 'rxjs';
import { entryPoint } from '../entry-points.js';
import { readArchivedValues } from '../events/archive.js';
import type { EventLog } from '../events/event-log.js';
import { silentLogger, type Logger } from '../log.js';
import { FromWorker, type ToWorker } from './export-protocol.js';
import type { NatsOptions } from './nats-connect.js';
import { DEFAULT_DEFER_MAX_MS, WritePressure } from './write-pressure.js';

const CURSOR = 'nats-export';
const CHUNK = 1000;
/** Commits per second from which the local writer counts as busy (a node's lifecycles make a few hundred at most). */
const BUSY_EPS = 2000;
const DEFER_STEP_MS = 50;

export interface ExporterOptions {
  log: EventLog;
  node: string;
  nats: NatsOptions;
  stream: string;
  replicas: number;
  /** Seconds the stream keeps events (0: for ever). */
  maxAgeS: number;
  logger?: Logger;
  /** Called with the commit time of each acknowledged event and when it was acknowledged (the lag benchmark). */
  onAck?: (committedAt: number, ackedAt: number) => void;
  /** Longest time export steps aside for a burst of local writes (0: never; default DEFAULT_DEFER_MAX_MS). */
  deferMaxMs?: number;
}

export interface ExportStatus {
  node: string;
  stream: string;
  servers: string[];
  exportedSeq: number;
  headSeq: number;
  lag: number;
  connected: boolean;
  lastAckAt: number;
  lastError: string;
}

type Pending = { kind: 'sync'; resolve: (m: Extract<FromWorker, { type: 'synced' }>) => void; reject: (e: Error) => void } | { kind: 'acked'; until: number; resolve: () => void; reject: (e: Error) => void };

export class NatsExporter {
  readonly #o: ExporterOptions;
  readonly #logger: Logger;
  readonly #worker: Worker;
  #pending: Pending | undefined;
  #synced = false;
  #connected = true;
  #exported = 0;
  #cursorSavedAt = 0;
  #cursorSaved = 0;
  #statusAt = 0;
  #lastAckAt = 0;
  #lastError = '';
  #stopped = false;
  #wake: (() => void) | undefined;
  #stopSleep: (() => void) | undefined;
  readonly #pressure = new WritePressure(BUSY_EPS);
  /** When export began to step aside for the current burst (undefined: not in one). */
  #deferSince: number | undefined;
  #sub: Subscription | undefined;
  #loop: Promise<void> = Promise.resolve();

  private constructor(o: ExporterOptions) {
    this.#o = o;
    this.#logger = o.logger ?? silentLogger;
    this.#worker = new Worker(entryPoint('chronicle-export-worker'));
    this.#worker.unref();
    this.#worker.on('message', (raw: unknown) => this.#onMessage(raw));
    this.#worker.on('error', (e) => this.#settle(e));
    this.#worker.on('exit', () => this.#settle(new Error('the export worker exited')));
  }

  /** Starts exporting in the background (NATS may be down: it is waited for). */
  static async start(o: ExporterOptions): Promise<NatsExporter> {
    const x = new NatsExporter(o);
    const raw = await o.log.getCursor(CURSOR);
    x.#exported = x.#cursorSaved = raw?.length === 8 ? Number(raw.readBigUInt64BE(0)) : 0;
    x.#send({ type: 'init', node: o.node, stream: o.stream, replicas: o.replicas, maxAgeS: o.maxAgeS, nats: { ...o.nats, servers: [...o.nats.servers] } });
    // The bus is only a doorbell: what to send is read from the log.
    x.#sub = o.log.committed$.subscribe(() => {
      x.#pressure.committed(Date.now());
      x.#wake?.();
    });
    x.#loop = x.#run();
    return x;
  }

  status(): ExportStatus {
    const head = this.#o.log.head().seq;
    return {
      node: this.#o.node,
      stream: this.#o.stream,
      servers: [...this.#o.nats.servers],
      exportedSeq: this.#exported,
      headSeq: head,
      lag: Math.max(0, head - this.#exported),
      connected: this.#synced && this.#connected,
      lastAckAt: this.#lastAckAt,
      lastError: this.#lastError,
    };
  }

  /** Stops after the chunk in flight (waiting at most 2 s), saves the cursor, ends the worker. */
  async close(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    this.#stopSleep?.();
    this.#sub?.unsubscribe();
    await Promise.race([this.#loop, new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.#saveCursor(true).catch(() => undefined);
    this.#send({ type: 'stop' });
    await Promise.race([new Promise((r) => this.#worker.once('exit', r)), new Promise((r) => setTimeout(r, 1000).unref())]);
    await this.#worker.terminate();
  }

  async #run(): Promise<void> {
    let backoff = 100;
    while (!this.#stopped) {
      try {
        if (!this.#synced) await this.#sync();
        if (this.#exported >= this.#o.log.head().seq) {
          await this.#saveCursor();
          if (Date.now() - this.#statusAt >= 1000) {
            this.#statusAt = Date.now();
            this.#send({ type: 'status', headSeq: this.#o.log.head().seq, exportedSeq: this.#exported });
          }
          this.#deferSince = undefined;
          await this.#idle(1000);
          continue;
        }
        if (this.#stepAside(Date.now())) {
          await this.#sleep(DEFER_STEP_MS);
          continue;
        }
        await this.#exportChunk();
        await this.#saveCursor();
        backoff = 100;
        this.#lastError = '';
      } catch (e) {
        if (this.#stopped) break;
        this.#lastError = e instanceof Error ? e.message : String(e);
        this.#synced = false; // ask the stream where it stands before sending again
        this.#logger.warn({ err: this.#lastError, exported: this.#exported, backoffMs: backoff }, 'fleet export paused');
        await this.#idle(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }

  /** Makes sure of the stream and continues after this node's last event in it. */
  async #sync(): Promise<void> {
    const s = await this.#ask<Extract<FromWorker, { type: 'synced' }>>({ type: 'sync' }, (resolve, reject) => ({ kind: 'sync', resolve, reject }));
    if (s.lastSeq !== undefined && s.lastValue) {
      const head = this.#o.log.head().seq;
      if (s.lastSeq > head) throw new Error(`stream ${this.#o.stream} holds seq ${s.lastSeq} for node ${this.#o.node}, beyond this log's head ${head}: is the node id used by another log?`);
      const [ours] = await this.#records(s.lastSeq, s.lastSeq);
      if (ours && !ours.equals(s.lastValue)) throw new Error(`stream ${this.#o.stream} holds a different event ${s.lastSeq} for node ${this.#o.node}: is the node id used by another log?`);
      if (s.lastSeq > this.#exported) this.#exported = s.lastSeq;
    }
    this.#synced = true;
    this.#connected = true;
  }

  async #exportChunk(): Promise<void> {
    const from = this.#exported + 1;
    const to = Math.min(this.#o.log.head().seq, from + CHUNK - 1);
    const values = await this.#records(from, to);
    // Packed into a buffer of its own (not the shared Buffer pool), which moves to the worker.
    const bytes = Buffer.allocUnsafeSlow(values.reduce((n, v) => n + v.length, 0));
    let at = 0;
    for (const v of values) at += v.copy(bytes, at);
    const until = from + values.length - 1;
    const chunk: ToWorker = { type: 'chunk', fromSeq: from, lengths: values.map((v) => v.length), bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), headSeq: this.#o.log.head().seq };
    await this.#ask<void>(chunk, (resolve, reject) => ({ kind: 'acked', until, resolve, reject }), [bytes.buffer]);
  }

  #ask<T>(m: ToWorker, pending: (resolve: (v: T) => void, reject: (e: Error) => void) => Pending, transfer: ArrayBuffer[] = []): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(new Error('the export worker did not answer in 30 s')), 30_000);
      const done = <A extends unknown[]>(f: (...a: A) => void) => (...a: A): void => {
        clearTimeout(timer);
        this.#pending = undefined;
        f(...a);
      };
      this.#pending = pending(done(resolve), done(reject));
      this.#send(m, transfer);
    });
  }

  #onMessage(raw: unknown): void {
    const parsed = FromWorker.safeParse(raw);
    if (!parsed.success) return this.#settle(new Error('the export worker sent a message that does not parse'));
    const m = parsed.data;
    const p = this.#pending;
    switch (m.type) {
      case 'synced':
        if (p?.kind === 'sync') p.resolve(m);
        return;
      case 'acked':
        this.#exported = Math.max(this.#exported, m.seq);
        this.#lastAckAt = m.at;
        if (this.#o.onAck) for (const ts of m.ts) this.#o.onAck(ts, m.at);
        if (p?.kind === 'acked' && m.seq >= p.until) p.resolve();
        return;
      case 'error':
        if (p) p.reject(new Error(m.message));
        else this.#lastError = m.message;
        return;
      case 'connected':
        this.#connected = m.connected;
        return;
    }
  }

  #settle(e: Error): void {
    if (this.#pending) this.#pending.reject(e);
    else if (!this.#stopped) this.#lastError = e.message;
  }

  #send(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.#worker.postMessage(m, transfer);
  }

  /** The stored records over [from, to], from the archives for a compacted range. */
  async #records(from: number, to: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const log = this.#o.log;
    if (from < log.horizon) for await (const values of readArchivedValues(log.archives(), from, Math.min(to, log.horizon - 1))) out.push(...values);
    const start = Math.max(from, log.horizon);
    if (start <= to) for await (const values of log.storedValues(start, to)) out.push(...values);
    return out;
  }

  /** The cursor is saved (synced) at most every 250 ms: a lost update only means a re-check. */
  async #saveCursor(force = false): Promise<void> {
    if (this.#cursorSaved === this.#exported || (!force && Date.now() - this.#cursorSavedAt < 250) || this.#o.log.closed) return;
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(this.#exported));
    const seq = this.#exported;
    await this.#o.log.putCursor(CURSOR, b);
    this.#cursorSaved = seq;
    this.#cursorSavedAt = Date.now();
  }

  /**
   * True while the local writer is busy and export has stepped aside for less than
   * deferMaxMs in this burst; past that, export goes on until it has caught up (or the burst
   * ends), so the lag stays bounded under sustained load.
   */
  #stepAside(now: number): boolean {
    const max = this.#o.deferMaxMs ?? DEFAULT_DEFER_MAX_MS;
    if (max <= 0) return false;
    if (!this.#pressure.busy(now)) {
      this.#deferSince = undefined;
      return false;
    }
    this.#deferSince ??= now;
    return now - this.#deferSince < max;
  }

  /** A pause that commits do not cut short (only close does): the doorbell rings per event. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const stop = (): void => done();
      this.#stopSleep = stop;
      function done(): void {
        clearTimeout(t);
        resolve();
      }
    });
  }

  #idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
  }
}
