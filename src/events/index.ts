// The public surface of the event log.
export { EventLog, FORMAT_VERSION } from './event-log.js';
export type { EventLogOptions, ReadOptions, VerifyResult, RepairResult, HeadInfo } from './event-log.js';
export { subscribe, matches } from './subscription.js';
export type { SubscribeOptions, EventFilter } from './subscription.js';
export { ChainChecker } from './hash-chain.js';
export type { ChainFault } from './hash-chain.js';
export { decodeEvent, encodeEvent, pack, unpack, ZERO_HASH } from './codec.js';
export * from './schemas.js';
