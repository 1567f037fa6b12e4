// Loads the containerd 1.6 services from proto/containerd/*.proto at run time, as
// ../proto.ts loads chronicle.v1 (found beside it, so the bundled daemon finds them too).
// keepCase: the generated shapes use the wire names (container_id, exit_status), which
// keeps the mapping to containerd's documentation one to one. These shapes stay in this folder.
import { dirname, join } from 'node:path';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { CONVERSION } from '../../static-protos.js';
import { PROTO_PATH } from '../proto.js';

export const CONTAINERD_PROTO_DIR = dirname(PROTO_PATH);

const FILES = ['version', 'introspection', 'namespaces', 'leases', 'containers', 'tasks', 'events'] as const;

export const CONTAINERD_SERVICES = {
  Version: 'containerd.services.version.v1.Version',
  Introspection: 'containerd.services.introspection.v1.Introspection',
  Namespaces: 'containerd.services.namespaces.v1.Namespaces',
  Leases: 'containerd.services.leases.v1.Leases',
  Containers: 'containerd.services.containers.v1.Containers',
  Tasks: 'containerd.services.tasks.v1.Tasks',
  Events: 'containerd.services.events.v1.Events',
} as const;
export type ContainerdServiceName = keyof typeof CONTAINERD_SERVICES;

let cached: GrpcObject | undefined;

/**
 * Parses the containerd protos, once. proto-loader is loaded here, not with the daemon:
 * loading it builds protobufjs's descriptor types, CPU that a start without the facade
 * need not spend.
 */
export async function loadContainerdProtos(): Promise<void> {
  if (cached) return;
  const { loadSync } = await import('@grpc/proto-loader');
  const def = loadSync(
    FILES.map((f) => join(CONTAINERD_PROTO_DIR, 'containerd', `${f}.proto`)),
    { keepCase: true, ...CONVERSION, includeDirs: [CONTAINERD_PROTO_DIR] },
  );
  cached ??= loadPackageDefinition(def);
}

function pkg(): GrpcObject {
  if (!cached) throw new Error('the containerd protos are not loaded: await loadContainerdProtos() first');
  return cached;
}

export function containerdClient(name: ContainerdServiceName): ServiceClientConstructor {
  let o: unknown = pkg();
  for (const part of CONTAINERD_SERVICES[name].split('.')) o = (o as Record<string, unknown>)[part];
  if (typeof o !== 'function') throw new TypeError(`no service ${CONTAINERD_SERVICES[name]}`);
  return o as ServiceClientConstructor;
}

export function containerdService(name: ContainerdServiceName): ServiceDefinition {
  return containerdClient(name).service;
}
