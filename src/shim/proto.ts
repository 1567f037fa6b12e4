// Loads chronicle.shim.v1 from proto/shim.proto at run time.
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('../../../proto/shim.proto', import.meta.url));
let cached: ServiceClientConstructor | undefined;

export function shimService(): ServiceClientConstructor {
  if (!cached) {
    const pkg = loadPackageDefinition(loadSync(PROTO, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true }));
    cached = (((pkg['chronicle'] as GrpcObject)['shim'] as GrpcObject)['v1'] as GrpcObject)['Shim'] as ServiceClientConstructor;
  }
  return cached;
}
