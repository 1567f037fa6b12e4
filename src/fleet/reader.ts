// Reads a fleet's events straight from JetStream (no daemon): an ordered consumer over one
// node's subjects or every node's, from the start or from a time, to the end of the stream
// or following it. Each message is the record a node's log stored, decoded here.
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import * as z from 'zod';
import { decodeEvent } from '../events/codec.js';
import type { Envelope } from '../events/schemas.js';
import { NODES_BUCKET, nodeFilter, nodeOfSubject, SUBJECT_ROOT } from './subjects.js';

export interface FleetRecord {
  node: string;
  /** The record as the node's log stored it (body + hash). */
  value: Buffer;
  /** Undefined when the message does not decode (`error` says why). */
  event: Envelope | undefined;
  error?: string;
  streamSeq: number;
}

export interface ReadFleetOptions {
  node?: string;
  /** Messages the stream received at or after this time (ms). */
  fromTime?: number;
  follow?: boolean;
  signal?: AbortSignal;
}

/**
 * Retries a JetStream call that timed out: a cluster that just lost a server answers again
 * once it has elected new leaders, which takes seconds.
 */
async function patiently<T>(f: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (i >= attempts || !/timeout|no responders|temporarily unavailable/i.test(msg)) throw e;
      await new Promise((r) => setTimeout(r, 1000 * i));
    }
  }
}

export async function* readFleet(nc: NatsConnection, stream: string, opts: ReadFleetOptions = {}): AsyncGenerator<FleetRecord> {
  const js: JetStreamClient = jetstream(nc, { timeout: 10_000 });
  const c = await patiently(() =>
    js.consumers.get(stream, {
      filter_subjects: nodeFilter(opts.node),
      ...(opts.fromTime !== undefined ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(opts.fromTime).toISOString() } : { deliver_policy: DeliverPolicy.All }),
    }),
  );
  try {
    if (!opts.follow && (await patiently(() => c.info(true))).num_pending === 0) return;
    const messages = await c.consume();
    const stop = (): void => void messages.stop();
    opts.signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const m of messages) {
        const value = Buffer.from(m.data);
        const r = decodeEvent(value);
        yield { node: nodeOfSubject(m.subject) ?? '?', value, event: r.ok ? r.event : undefined, ...(r.ok ? {} : { error: r.reason }), streamSeq: m.seq };
        if (!opts.follow && m.info.pending === 0) break;
      }
    } finally {
      opts.signal?.removeEventListener('abort', stop);
      messages.stop();
    }
  } finally {
    await c.delete().catch(() => undefined);
  }
}

const NodeStatus = z.object({ node: z.string(), headSeq: z.number(), exportedSeq: z.number(), lag: z.number(), at: z.number() });
export type NodeStatus = z.infer<typeof NodeStatus>;

export interface NodeSummary {
  node: string;
  /** Events of this node in the stream. */
  messages: number;
  /** What the node last reported (head, exported, lag, when), if it did. */
  status?: NodeStatus;
}

/** Every node the stream holds events of, with what each last reported. */
export async function fleetNodes(nc: NatsConnection, stream: string): Promise<NodeSummary[]> {
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  const info = await patiently(() => jsm.streams.info(stream, { subjects_filter: `${SUBJECT_ROOT}.>` }));
  const counts = new Map<string, number>();
  for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
    const node = nodeOfSubject(subject);
    if (node) counts.set(node, (counts.get(node) ?? 0) + n);
  }
  const statuses = new Map<string, NodeStatus>();
  try {
    const kv = await new Kvm(nc).open(NODES_BUCKET);
    for await (const key of await kv.keys()) {
      const entry = await kv.get(key);
      const s = entry ? NodeStatus.safeParse(safeJson(entry.string())) : undefined;
      if (s?.success) statuses.set(key, s.data);
    }
  } catch {
    // no node has reported yet
  }
  const names = [...new Set([...counts.keys(), ...statuses.keys()])].sort();
  return names.map((node) => ({ node, messages: counts.get(node) ?? 0, ...(statuses.has(node) ? { status: statuses.get(node)! } : {}) }));
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}
