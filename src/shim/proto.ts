// chronicle.shim.v1, from the codecs generated at build time from proto/shim.proto
// (scripts/proto-codecs.mjs, src/static-protos.ts).
import type { ServiceClientConstructor } from '@grpc/grpc-js';
import generated from '../generated/shim.cjs';
import { serviceClients } from '../static-protos.js';

let cached: ServiceClientConstructor | undefined;

export function shimService(): ServiceClientConstructor {
  cached ??= serviceClients(generated).get('chronicle.shim.v1.Shim');
  if (!cached) throw new TypeError('no service chronicle.shim.v1.Shim');
  return cached;
}
