// The exporter's worker thread: it holds the NATS connection, decodes each record only to
// name its subject, publishes windows through AckedPublisher and reports what JetStream
// acknowledged. Everything per event happens here, off the thread that appends to the log.
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeEvent } from '../events/codec.js';
import { FromWorker, ToWorker } from './export-protocol.js';
import { connectNats } from './nats-connect.js';
import { AckedPublisher } from './publisher.js';
import { eventSubject, messageId, NODES_BUCKET, nodeFilter, SUBJECT_ROOT } from './subjects.js';

const DUPLICATE_WINDOW_NS = 120e9;
const WINDOW = 1000;
const EXPORT_NICE = 10;

type Init = Extract<ToWorker, { type: 'init' }>;

const port = parentPort;
if (!port) throw new Error('export-worker runs as a worker thread');
// Linux gives each thread its own nice value: this one yields the CPU to the thread that
// appends (and to everything else at the default priority) when the machine is busy, and
// runs at full speed when it is not. Lowering one's own priority is always allowed.
try {
  setPriority(0, EXPORT_NICE);
} catch {
  // not Linux, or refused: export runs at the default priority
}
let init: Init | undefined;
let nc: NatsConnection | undefined;
let publisher: AckedPublisher | undefined;
let kv: KV | undefined;
let statusAt = 0;
let queue: Promise<void> = Promise.resolve();

function post(m: FromWorker): void {
  port!.postMessage(m);
}

port.on('message', (raw: unknown) => {
  const m = ToWorker.safeParse(raw);
  if (!m.success) return post({ type: 'error', message: `bad message to the export worker: ${m.error.issues[0]?.message ?? '?'}` });
  // One message at a time, in order: a chunk never overtakes the sync before it.
  queue = queue.then(() => handle(m.data)).catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }));
});

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'init':
      init = m;
      return;
    case 'sync':
      return sync();
    case 'chunk':
      return publishChunk(m);
    case 'status':
      return putStatus(m.headSeq, m.exportedSeq);
    case 'stop':
      publisher?.close();
      await nc?.close().catch(() => undefined);
      port!.close();
      return;
  }
}

async function connection(): Promise<NatsConnection> {
  if (!init) throw new Error('export worker not initialised');
  if (!nc) {
    nc = await connectNats({ ...init.nats, name: `chronicled ${init.node}` });
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'disconnect' || s.type === 'reconnect') post({ type: 'connected', connected: s.type === 'reconnect' });
    })();
  }
  return nc;
}

/** Ensures the stream and the nodes bucket, and reports this node's last record in the stream. */
async function sync(): Promise<void> {
  const c = await connection();
  const i = init!;
  const jsm = await jetstreamManager(c, { timeout: 5000 });
  try {
    await jsm.streams.info(i.stream);
  } catch (e) {
    if (!/not found/i.test(e instanceof Error ? e.message : String(e))) throw e;
    const maxAge = i.maxAgeS * 1e9;
    await jsm.streams.add({
      name: i.stream,
      subjects: [`${SUBJECT_ROOT}.>`],
      num_replicas: i.replicas,
      max_age: maxAge,
      duplicate_window: maxAge > 0 ? Math.min(maxAge, DUPLICATE_WINDOW_NS) : DUPLICATE_WINDOW_NS,
    });
  }
  kv ??= await new Kvm(c).create(NODES_BUCKET, { history: 1, replicas: i.replicas });
  const consumer = await jetstream(c, { timeout: 5000 }).consumers.get(i.stream, { filter_subjects: nodeFilter(i.node), deliver_policy: DeliverPolicy.Last });
  try {
    if ((await consumer.info(true)).num_pending === 0) return post({ type: 'synced' });
    const msg = await consumer.next({ expires: 5000 });
    if (!msg) throw new Error('the stream did not deliver its last message in time');
    const r = decodeEvent(msg.data);
    if (!r.ok) throw new Error(`the stream's last message for ${i.node} does not decode: ${r.reason}`);
    post({ type: 'synced', lastSeq: r.event.seq, lastValue: new Uint8Array(msg.data) });
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}

async function publishChunk(m: Extract<ToWorker, { type: 'chunk' }>): Promise<void> {
  const c = await connection();
  const i = init!;
  publisher ??= new AckedPublisher(c);
  let at = 0;
  const items = m.lengths.map((len, k) => {
    const data = m.bytes.subarray(at, at + len);
    at += len;
    const r = decodeEvent(data);
    if (!r.ok) throw new Error(`event ${m.fromSeq + k} does not decode: ${r.reason}`);
    return { subject: eventSubject(i.node, r.event.ns, r.event.type), data, msgId: messageId(i.node, r.event.seq), seq: r.event.seq, ts: r.event.ts };
  });
  for (let k = 0; k < items.length; k += WINDOW) {
    const window = items.slice(k, k + WINDOW);
    await publisher.publishAll(window, 5000);
    post({ type: 'acked', seq: window.at(-1)!.seq, at: Date.now(), ts: window.map((x) => x.ts) });
  }
  await putStatus(m.headSeq, items.at(-1)?.seq ?? m.fromSeq - 1);
}

/** This node's head, exported seq and lag in the nodes bucket, about once a second. */
async function putStatus(headSeq: number, exportedSeq: number): Promise<void> {
  if (!kv || Date.now() - statusAt < 1000) return;
  statusAt = Date.now();
  await kv.put(init!.node, JSON.stringify({ node: init!.node, headSeq, exportedSeq, lag: Math.max(0, headSeq - exportedSeq), at: statusAt }));
}
