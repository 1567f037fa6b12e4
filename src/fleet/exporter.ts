// Fleet export: every committed event, in seq order, to a JetStream stream, as the record
// the log stores (body + hash), so the chain can be verified from the stream alone.
//
// It READS THE LOG (from a cursor kept in LevelDB), not the live bus: the bus only wakes it
// up. So the writer never waits on NATS, and after any outage (NATS down, daemon killed)
// export resumes where JetStream last acknowledged. A message id of <node>:<seq> lets
// JetStream drop a repeat inside its duplicate window; beyond it, each (re)connection first
// asks the stream for this node's last event and continues after it, so every seq is in
// the stream once.
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Subscription } from 'rxjs';
import { ArchiveReader } from '../events/archive.js';
import { decodeEvent } from '../events/codec.js';
import type { EventLog } from '../events/event-log.js';
import type { Envelope } from '../events/schemas.js';
import { silentLogger, type Logger } from '../log.js';
import { connectNats, type NatsOptions } from './nats-connect.js';
import { eventSubject, messageId, NODES_BUCKET, nodeFilter, SUBJECT_ROOT } from './subjects.js';

const CURSOR = 'nats-export';
const CHUNK = 1000;
const DUPLICATE_WINDOW_NS = 120e9;

export interface ExporterOptions {
  log: EventLog;
  node: string;
  nats: NatsOptions;
  stream: string;
  replicas: number;
  /** Seconds the stream keeps events (0: for ever). */
  maxAgeS: number;
  logger?: Logger;
  /** Publishes in flight at once (JetStream acknowledges each). */
  window?: number;
  /** Called as each event is acknowledged (for the export-lag benchmark). */
  onAck?: (e: Envelope, ackedAt: number) => void;
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

interface Record_ {
  value: Buffer;
  event: Envelope;
}

export class NatsExporter {
  readonly #o: ExporterOptions;
  readonly #logger: Logger;
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #kv: KV | undefined;
  /** False until this connection has checked where the stream stands for this node. */
  #synced = false;
  #exported = 0;
  #cursorSavedAt = 0;
  #cursorSaved = 0;
  #statusAt = 0;
  #lastAckAt = 0;
  #lastError = '';
  #stopped = false;
  #wake: (() => void) | undefined;
  #sub: Subscription | undefined;
  #loop: Promise<void> = Promise.resolve();

  private constructor(o: ExporterOptions) {
    this.#o = o;
    this.#logger = o.logger ?? silentLogger;
  }

  /** Starts exporting in the background (NATS may be down: it is waited for). */
  static async start(o: ExporterOptions): Promise<NatsExporter> {
    const x = new NatsExporter(o);
    const raw = await o.log.getCursor(CURSOR);
    x.#exported = x.#cursorSaved = raw?.length === 8 ? Number(raw.readBigUInt64BE(0)) : 0;
    // The bus is only a doorbell: what to send is read from the log.
    x.#sub = o.log.committed$.subscribe(() => x.#wake?.());
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
      connected: this.#nc !== undefined && !this.#nc.isClosed() && this.#synced,
      lastAckAt: this.#lastAckAt,
      lastError: this.#lastError,
    };
  }

  /** Stops after the batch in flight, saves the cursor and closes the connection. */
  async close(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    this.#sub?.unsubscribe();
    // A publish to an unreachable NATS waits up to its timeout: a stop does not wait that long.
    await Promise.race([this.#loop, new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.#saveCursor(true).catch(() => undefined);
    await this.#nc?.close().catch(() => undefined);
  }

  async #run(): Promise<void> {
    let backoff = 100;
    while (!this.#stopped) {
      try {
        if (!this.#synced) await this.#setup();
        if (this.#exported >= this.#o.log.head().seq) {
          await this.#saveCursor();
          await this.#publishStatus();
          await this.#idle(1000);
          continue;
        }
        await this.#exportChunk();
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

  /** Connects (once), makes sure the stream and the nodes bucket exist, and catches up with the stream's view. */
  async #setup(): Promise<void> {
    this.#nc ??= await connectNats({ ...this.#o.nats, name: `chronicled ${this.#o.node}` });
    const jsm = await jetstreamManager(this.#nc, { timeout: 5000 });
    await this.#ensureStream(jsm);
    this.#js = jetstream(this.#nc, { timeout: 5000 });
    this.#kv ??= await new Kvm(this.#nc).create(NODES_BUCKET, { history: 1, replicas: this.#o.replicas });
    const last = await this.#lastInStream(this.#js);
    if (last !== undefined) {
      const head = this.#o.log.head().seq;
      if (last.seq > head) throw new Error(`stream ${this.#o.stream} holds seq ${last.seq} for node ${this.#o.node}, beyond this log's head ${head}: is the node id used by another log?`);
      const ours = await this.#records(last.seq, last.seq);
      if (ours[0] && !ours[0].value.equals(last.value)) throw new Error(`stream ${this.#o.stream} holds a different event ${last.seq} for node ${this.#o.node}: is the node id used by another log?`);
      if (last.seq > this.#exported) this.#exported = last.seq;
    }
    this.#synced = true;
  }

  async #ensureStream(jsm: JetStreamManager): Promise<void> {
    try {
      await jsm.streams.info(this.#o.stream);
      return;
    } catch (e) {
      if (!/not found/i.test(e instanceof Error ? e.message : String(e))) throw e;
    }
    const maxAge = this.#o.maxAgeS * 1e9;
    await jsm.streams.add({
      name: this.#o.stream,
      subjects: [`${SUBJECT_ROOT}.>`],
      num_replicas: this.#o.replicas,
      max_age: maxAge,
      duplicate_window: maxAge > 0 ? Math.min(maxAge, DUPLICATE_WINDOW_NS) : DUPLICATE_WINDOW_NS,
    });
  }

  /** This node's newest message in the stream (its stored record), if any. */
  async #lastInStream(js: JetStreamClient): Promise<{ seq: number; value: Buffer } | undefined> {
    const c = await js.consumers.get(this.#o.stream, { filter_subjects: nodeFilter(this.#o.node), deliver_policy: DeliverPolicy.Last });
    try {
      if ((await c.info(true)).num_pending === 0) return undefined;
      const m = await c.next({ expires: 5000 });
      if (!m) throw new Error('the stream did not deliver its last message in time');
      const value = Buffer.from(m.data);
      const r = decodeEvent(value);
      if (!r.ok) throw new Error(`the stream's last message for ${this.#o.node} does not decode: ${r.reason}`);
      return { seq: r.event.seq, value };
    } finally {
      await c.delete().catch(() => undefined);
    }
  }

  async #exportChunk(): Promise<void> {
    const js = this.#js!;
    const from = this.#exported + 1;
    const to = Math.min(this.#o.log.head().seq, from + CHUNK - 1);
    const records = await this.#records(from, to);
    const window = this.#o.window ?? 256;
    for (let i = 0; i < records.length && !this.#stopped; i += window) {
      const batch = records.slice(i, i + window);
      await Promise.all(
        batch.map(async ({ value, event }) => {
          await js.publish(eventSubject(this.#o.node, event.ns, event.type), value, { msgID: messageId(this.#o.node, event.seq) });
          this.#o.onAck?.(event, Date.now());
        }),
      );
      // All of the window is acknowledged: nothing before its last seq is left to send.
      this.#exported = batch.at(-1)!.event.seq;
      this.#lastAckAt = Date.now();
      await this.#saveCursor();
      await this.#publishStatus();
    }
  }

  /** The stored records over [from, to], from the archives for a compacted range. */
  async #records(from: number, to: number): Promise<Record_[]> {
    const out: Record_[] = [];
    const push = (value: Buffer, seq: number): void => {
      const r = decodeEvent(value);
      if (!r.ok) throw new Error(`event ${seq} does not decode: ${r.reason}`);
      out.push({ value, event: r.event });
    };
    const log = this.#o.log;
    for (const a of log.archives()) {
      if (a.toSeq < from || a.fromSeq > to) continue;
      const reader = await ArchiveReader.open(a.path);
      try {
        let seq = a.fromSeq;
        for await (const values of reader.values()) {
          for (const v of values) {
            if (seq >= from && seq <= to) push(v, seq);
            seq++;
          }
          if (seq > to) break;
        }
      } finally {
        await reader.close();
      }
    }
    const start = Math.max(from, log.horizon);
    let seq = start;
    if (start <= to) for await (const values of log.storedValues(start, to)) for (const v of values) push(v, seq++);
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

  /** This node's head, exported seq and lag, in the nodes bucket, about once a second. */
  async #publishStatus(): Promise<void> {
    if (!this.#kv || Date.now() - this.#statusAt < 1000) return;
    this.#statusAt = Date.now();
    const s = this.status();
    await this.#kv.put(this.#o.node, JSON.stringify({ node: s.node, headSeq: s.headSeq, exportedSeq: s.exportedSeq, lag: s.lag, at: this.#statusAt }));
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
