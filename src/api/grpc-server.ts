// The API listener: chronicle.v1 on a unix socket created mode 0600 (unix-listen.ts), plus
// grpc.health.v1 and server reflection so that generic gRPC tools can discover the API.
import { readFile, rm } from 'node:fs/promises';
import nodeTls from 'node:tls';
import { Server, ServerCredentials, type ServiceDefinition, type UntypedHandleCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import type { HealthImplementation } from 'grpc-health-check';
import { CONVERSION } from '../static-protos.js';
import { PROTO_PATH, serviceDefinition, type ServiceName } from './proto.js';
import { bindUnixSocket } from './unix-listen.js';

export interface ApiServer {
  server: Server;
  health: HealthImplementation;
  close(): Promise<void>;
}

export interface TlsListener {
  /** host:port */
  address: string;
  cert: string;
  key: string;
  ca: string;
}

type Registration = { service: ServiceDefinition; impl: UntypedServiceImplementation };

interface Loaded {
  loadSync: typeof import('@grpc/proto-loader').loadSync;
  HealthImplementation: typeof HealthImplementation;
}
let loading: Promise<Loaded> | undefined;

/**
 * Loads what the listener needs beyond grpc-js: grpc-health-check parses its .proto when
 * loaded, and proto-loader builds protobufjs's descriptor types, ~26 ms of CPU together
 * here. The daemon calls this while LevelDB opens on its own threads, so that the two
 * overlap; startApiServer awaits it in any case.
 */
export function preloadApiServer(): Promise<Loaded> {
  loading ??= Promise.all([import('@grpc/proto-loader'), import('grpc-health-check')]).then(([pl, hc]) => ({ loadSync: pl.loadSync, HealthImplementation: hc.HealthImplementation }));
  return loading;
}

/** What ReflectionService.addToServer registers, captured instead of registered. */
function reflectionServices(def: PackageDefinition): Registration[] {
  const out: Registration[] = [];
  new ReflectionService(def).addToServer({ addService: (service, impl) => void out.push({ service, impl }) });
  return out;
}

/**
 * Server reflection whose index of chronicle.v1 is built on first use: building it takes
 * ~30 ms of the restart's path to serving, and only tools such as grpcurl ask. The service
 * definitions come from a reflection service over nothing (cheap); each call is handed to
 * the real one, made once.
 */
function addLazyReflection(server: Server, def: () => PackageDefinition): void {
  let real: Map<string, UntypedHandleCall> | undefined;
  const handler = (path: string): UntypedHandleCall | undefined => {
    if (!real) {
      real = new Map();
      for (const r of reflectionServices(def())) for (const [name, m] of Object.entries(r.service)) if (r.impl[name]) real.set(m.path, r.impl[name]);
    }
    return real.get(path);
  };
  for (const r of reflectionServices({})) {
    const impl: UntypedServiceImplementation = {};
    for (const [name, m] of Object.entries(r.service)) {
      impl[name] = ((call: Parameters<UntypedHandleCall>[0], ...rest: unknown[]) =>
        (handler(m.path) as (...a: unknown[]) => unknown)(call, ...rest)) as UntypedHandleCall;
    }
    server.addService(r.service, impl);
  }
}

export async function startApiServer(socket: string, services: Partial<Record<ServiceName, UntypedServiceImplementation>>, tls?: TlsListener): Promise<ApiServer> {
  const server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  for (const [name, impl] of Object.entries(services) as [ServiceName, UntypedServiceImplementation][]) {
    server.addService(serviceDefinition(name), impl);
  }
  const { loadSync, HealthImplementation } = await preloadApiServer();
  const health = new HealthImplementation({ '': 'NOT_SERVING', 'chronicle.v1.Tasks': 'NOT_SERVING' });
  health.addToServer(server);
  // proto-loader's definition of chronicle.v1, with the file descriptors reflection serves.
  let reflected: PackageDefinition | undefined;
  addLazyReflection(server, () => (reflected ??= loadSync(PROTO_PATH, { keepCase: false, ...CONVERSION })));

  await bindUnixSocket(server, socket);
  if (tls) await bindTls(server, tls);
  health.setStatus('', 'SERVING');
  health.setStatus('chronicle.v1.Tasks', 'SERVING');
  return {
    server,
    health,
    close: async () => {
      health.setStatus('', 'NOT_SERVING');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await rm(socket, { force: true });
    },
  };
}

/**
 * The optional TCP listener: mutual TLS, TLS 1.3 only, a client certificate signed by the
 * configured CA required. grpc-js builds its contexts with Node's tls defaults, so the
 * minimum version is raised process-wide (the daemon has no other TLS client or server).
 */
async function bindTls(server: Server, tls: TlsListener): Promise<void> {
  nodeTls.DEFAULT_MIN_VERSION = 'TLSv1.3';
  const [cert, key, ca] = await Promise.all([readFile(tls.cert), readFile(tls.key), readFile(tls.ca)]);
  const creds = ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true);
  await new Promise<number>((resolve, reject) => server.bindAsync(tls.address, creds, (err, port) => (err ? reject(err) : resolve(port))));
}
