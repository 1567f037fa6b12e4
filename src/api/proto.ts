// Loads chronicle.v1 from proto/chronicle.proto at run time (no generated code to keep in
// step). Generated shapes stay inside src/api/: requests are zod-parsed in requests.ts.
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

export const PROTO_PATH = fileURLToPath(new URL('../../../proto/chronicle.proto', import.meta.url));

let cached: { def: PackageDefinition; pkg: GrpcObject } | undefined;

export function chronicleProto(): { def: PackageDefinition; pkg: GrpcObject } {
  if (!cached) {
    const def = loadSync(PROTO_PATH, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
    cached = { def, pkg: loadPackageDefinition(def) };
  }
  return cached;
}

export type ServiceName = 'Containers' | 'Tasks' | 'Checkpoints' | 'Events' | 'Daemon' | 'History' | 'Log';

export function serviceClient(name: ServiceName): ServiceClientConstructor {
  const v1 = (chronicleProto().pkg['chronicle'] as GrpcObject)['v1'] as GrpcObject;
  return v1[name] as ServiceClientConstructor;
}

export function serviceDefinition(name: ServiceName): ServiceDefinition {
  return serviceClient(name).service;
}
