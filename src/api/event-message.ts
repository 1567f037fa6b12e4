// An Envelope as the chronicle.v1.Event message (data as JSON for generic clients).
import type { Envelope } from '../events/schemas.js';

export interface EventMessage {
  seq: number;
  ts: number;
  namespace: string;
  id: string;
  type: string;
  version: number;
  dataJson: string;
  actor: string;
  req: string;
  shimSeq: number;
  prev: string;
  hash: string;
}

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
