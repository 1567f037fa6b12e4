// JetStream publishing without a request per message. A JetStream publish is a core NATS
// publish whose reply subject receives the stream's acknowledgement; the client's own
// js.publish() makes a request object, a timer and (even on success) an Error per message,
// which was most of the exporter's CPU. Here one inbox subscription collects the acks of a
// whole window, with one deadline for the window.
import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import * as z from 'zod';

const PubAck = z.object({
  stream: z.string().optional(),
  seq: z.number().optional(),
  duplicate: z.boolean().optional(),
  error: z.object({ code: z.number().optional(), description: z.string().optional() }).optional(),
});

export interface Outgoing {
  subject: string;
  data: Uint8Array;
  /** JetStream's de-duplication id (Nats-Msg-Id). */
  msgId: string;
}

interface Window {
  waiting: Set<number>;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class AckedPublisher {
  readonly #nc: NatsConnection;
  readonly #inbox = createInbox();
  readonly #sub: Subscription;
  #window: Window | undefined;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    this.#sub = nc.subscribe(`${this.#inbox}.*`, { callback: (err, msg) => (err ? this.#fail(err) : this.#onAck(msg)) });
  }

  /** Publishes every message and resolves once JetStream has stored (or de-duplicated) all of them. */
  publishAll(items: readonly Outgoing[], timeoutMs: number): Promise<void> {
    if (this.#window) return Promise.reject(new Error('a window is already in flight'));
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new Error(`JetStream acknowledged ${items.length - (this.#window?.waiting.size ?? 0)} of ${items.length} messages in ${timeoutMs} ms`)), timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#window = undefined;
      };
      this.#window = {
        waiting: new Set(items.map((_, i) => i)),
        resolve: () => {
          done();
          resolve();
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      items.forEach((m, i) => {
        const h = headers();
        h.set('Nats-Msg-Id', m.msgId);
        this.#nc.publish(m.subject, m.data, { reply: `${this.#inbox}.${i}`, headers: h });
      });
    });
  }

  close(): void {
    this.#sub.unsubscribe();
    this.#fail(new Error('publisher closed'));
  }

  #onAck(msg: Msg): void {
    const w = this.#window;
    if (!w) return; // a late ack of a window that already failed
    if (msg.headers?.hasError) return this.#fail(new Error(`JetStream: ${msg.headers.code} ${msg.headers.description || msg.headers.status}`));
    let ack: z.infer<typeof PubAck>;
    try {
      ack = PubAck.parse(msg.json());
    } catch {
      return this.#fail(new Error('JetStream sent an acknowledgement that does not parse'));
    }
    if (ack.error) return this.#fail(new Error(`JetStream refused a message: ${ack.error.code ?? '?'} ${ack.error.description ?? ''}`));
    w.waiting.delete(Number(msg.subject.slice(this.#inbox.length + 1)));
    if (w.waiting.size === 0) w.resolve();
  }

  #fail(e: Error): void {
    this.#window?.reject(e);
  }
}
