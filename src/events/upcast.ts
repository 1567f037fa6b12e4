// Lifts stored `data` of an older schema version to the current one, on read.
// Stored events are never rewritten (their hash covers the bytes as written).
// Every type is at version 1 today; an upcaster is added here with each version bump:
//   UPCASTERS['TaskExited'] = { 1: (d) => ({ ...d, reason: 'exited' }) }  // v1 -> v2
import type { EventType } from './schemas.js';

type Upcaster = (data: unknown) => unknown;
const UPCASTERS: Partial<Record<EventType, Record<number, Upcaster>>> = {};

export function upcast(type: EventType, version: number, data: unknown): unknown {
  const steps = UPCASTERS[type];
  if (!steps) return data;
  let v = version;
  let d = data;
  for (let step = steps[v]; step; step = steps[v]) {
    d = step(d);
    v += 1;
  }
  return d;
}
