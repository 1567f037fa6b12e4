// Messages between the exporter (main thread: it owns the log and the cursor) and its
// worker (it owns the NATS connection and does the per-event work), zod-checked on arrival.
import * as z from 'zod';

const NatsOptionsSchema = z.object({
  servers: z.array(z.string()),
  tlsCa: z.string().optional(),
  tlsCert: z.string().optional(),
  tlsKey: z.string().optional(),
  creds: z.string().optional(),
  user: z.string().optional(),
  pass: z.string().optional(),
  token: z.string().optional(),
});

export const ToWorker = z.discriminatedUnion('type', [
  z.object({ type: z.literal('init'), node: z.string(), stream: z.string(), replicas: z.number(), maxAgeS: z.number(), nats: NatsOptionsSchema }),
  /** Where does the stream stand for this node? (after start and after any error) */
  z.object({ type: z.literal('sync') }),
  /** Records `fromSeq`.. as stored, packed: `bytes` holds them back to back, `lengths` their sizes. */
  z.object({ type: z.literal('chunk'), fromSeq: z.number(), lengths: z.array(z.number()), bytes: z.instanceof(Uint8Array), headSeq: z.number() }),
  /** Refreshes this node's entry in the nodes bucket while idle (last seen). */
  z.object({ type: z.literal('status'), headSeq: z.number(), exportedSeq: z.number() }),
  z.object({ type: z.literal('stop') }),
]);
export type ToWorker = z.infer<typeof ToWorker>;

export const FromWorker = z.discriminatedUnion('type', [
  /** The stream's last record of this node (undefined: none), so the feeder knows where to go on. */
  z.object({ type: z.literal('synced'), lastSeq: z.number().optional(), lastValue: z.instanceof(Uint8Array).optional() }),
  /** Every record up to `seq` is stored by JetStream; `ts` of each acked event for lag figures. */
  z.object({ type: z.literal('acked'), seq: z.number(), at: z.number(), ts: z.array(z.number()) }),
  z.object({ type: z.literal('error'), message: z.string() }),
  z.object({ type: z.literal('connected'), connected: z.boolean() }),
]);
export type FromWorker = z.infer<typeof FromWorker>;
