// chronicle.v1.Events: Subscribe (catch up from the log, then live, no gap, no duplicate)
// and Head.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { EventLog } from '../events/event-log.js';
import { EventTypeSchema, type EventType } from '../events/schemas.js';
import { ChronicleError } from '../errors.js';
import { subscribe } from '../events/subscription.js';
import { toEventMessage, type EventMessage } from './event-message.js';
import { serverStream, unary, type HandlerEnv } from './handler.js';
import { parseRequest, SubscribeRequest } from './requests.js';

export function eventsService(env: HandlerEnv, log: EventLog): UntypedServiceImplementation {
  return {
    Subscribe: serverStream<EventMessage>(env, 'events.Subscribe', async (raw, ctx, write, signal) => {
      const req = parseRequest(SubscribeRequest, raw);
      const filter: { ns?: string; id?: string; types?: EventType[] } = {};
      for (const f of req.filters) {
        const [k, v] = f.split('=', 2) as [string, string];
        if (k === 'ns') filter.ns = v;
        else if (k === 'id') filter.id = v;
        else {
          const t = EventTypeSchema.safeParse(v);
          if (!t.success) throw new ChronicleError('INVALID_ARGUMENT', `invalid filters: unknown event type ${v}`, { field: 'filters' });
          (filter.types ??= []).push(t.data);
        }
      }
      if (ctx.confined) filter.ns = ctx.ns; // a confined caller sees its namespace only
      const from = req.fromSeq > 0 ? { fromSeq: req.fromSeq } : req.fromTime > 0 ? { fromTime: req.fromTime } : { fromSeq: 1 };
      for await (const e of subscribe(log, { ...from, filter: filter, follow: req.follow, signal })) {
        await write(toEventMessage(e));
      }
    }),
    Head: unary(env, 'events.Head', async () => {
      const h = log.head();
      return { seq: h.seq, hash: h.hash, ts: h.ts };
    }),
  };
}
