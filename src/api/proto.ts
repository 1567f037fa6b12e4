// chronicle.v1's services, from the codecs generated at build time from proto/chronicle.proto
// (scripts/proto-codecs.mjs: no generated code to keep in step). Generated shapes stay inside
// src/api/: requests are zod-parsed in requests.ts. Server reflection alone loads the .proto
// file (grpc-server.ts).
import { fileURLToPath } from 'node:url';
import type { ServiceClientConstructor, ServiceDefinition } from '@grpc/grpc-js';
import generated from '../generated/chronicle.cjs';
import { serviceClients } from '../static-protos.js';

export const PROTO_PATH = fileURLToPath(new URL('../../../proto/chronicle.proto', import.meta.url));

export type ServiceName = 'Containers' | 'Tasks' | 'Checkpoints' | 'Events' | 'Daemon' | 'History' | 'Log';

let clients: Map<string, ServiceClientConstructor> | undefined;

export function serviceClient(name: ServiceName): ServiceClientConstructor {
  clients ??= serviceClients(generated);
  const c = clients.get(`chronicle.v1.${name}`);
  if (!c) throw new TypeError(`no service chronicle.v1.${name}`);
  return c;
}

export function serviceDefinition(name: ServiceName): ServiceDefinition {
  return serviceClient(name).service;
}
