// An Envelope as the chronicle.v1.Event message (data as JSON for generic clients).
import type { Envelope } from '../events/schemas.js';
import type { EventWire } from './http-wire.js';

/** chronicle.v1.Event: the same shape the web endpoints send (http-wire.ts, shared with the page). */
export type EventMessage = EventWire;

export function toEventMessage(e: Envelope): EventMessage {
  return {
    seq: e.seq,
    ts: e.ts,
    namespace: e.ns,
    id: e.id,
    type: e.type,
    version: e.v,
    dataJson: JSON.stringify(e.data),
    actor: e.actor,
    req: e.req ?? '',
    shimSeq: e.shimSeq ?? 0,
    prev: e.prev,
    hash: e.hash,
  };
}
