// Snapshot bytes of a State (msgpackr through the log's codec). Decoding validates the shape
// with the State schema: a bad snapshot is a clear error, and callers fold from the log.
import { ChronicleError } from '../errors.js';
import { pack, unpack } from '../events/codec.js';
import { State } from './state.js';

export function encodeSnapshot(state: State): Buffer {
  return pack(state);
}

export function decodeSnapshot(bytes: Uint8Array): State {
  let raw: unknown;
  try {
    raw = unpack(bytes);
  } catch (e) {
    throw new ChronicleError('CHAIN_BROKEN', 'undecodable projection snapshot', {}, { cause: e });
  }
  const r = State.safeParse(raw);
  if (!r.success) throw new ChronicleError('CHAIN_BROKEN', `bad projection snapshot at ${r.error.issues[0]?.path.join('.') ?? '?'}`);
  return r.data;
}
