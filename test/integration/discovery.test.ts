// Generic gRPC tools can find their way in: grpc.health.v1 answers SERVING, and server
// reflection (v1) lists chronicle's services and describes them.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { credentials, loadPackageDefinition, type Client, type GrpcObject, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';

const require = createRequire(import.meta.url);
const pkgDir = (name: string): string => dirname(require.resolve(`${name}/package.json`));

let d: RunningDaemon;
const clients: Client[] = [];
before(async () => {
  d = await startDaemon({ args: ['--shim-pool', '0'] });
});
after(async () => {
  for (const c of clients) c.close();
  await d?.cleanup();
});

function client(protoPath: string, service: string): Client {
  const pkg = loadPackageDefinition(loadSync(protoPath, { keepCase: true, longs: Number, enums: String, defaults: true }));
  const Ctor = service.split('.').reduce<unknown>((o, k) => (o as GrpcObject)[k], pkg) as ServiceClientConstructor;
  const c = new Ctor(`unix://${d.socket}`, credentials.createInsecure());
  clients.push(c);
  return c;
}

test('health: the daemon and chronicle.v1.Tasks are SERVING', async () => {
  const health = client(join(pkgDir('grpc-health-check'), 'proto', 'health', 'v1', 'health.proto'), 'grpc.health.v1.Health') as unknown as {
    Check: (req: { service: string }, cb: (e: ServiceError | null, r: { status: string }) => void) => void;
  };
  for (const service of ['', 'chronicle.v1.Tasks']) {
    const r = await new Promise<{ status: string }>((resolve, reject) => health.Check({ service }, (e, res) => (e ? reject(e) : resolve(res))));
    assert.equal(r.status, 'SERVING', `health of "${service}"`);
  }
});

test('reflection lists chronicle.v1 services and describes Tasks', async () => {
  const reflection = client(join(pkgDir('@grpc/reflection'), 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto'), 'grpc.reflection.v1.ServerReflection') as unknown as {
    ServerReflectionInfo: () => NodeJS.ReadWriteStream & { write: (m: unknown) => boolean; end: () => void };
  };
  const ask = (req: Record<string, string>): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const s = reflection.ServerReflectionInfo();
      s.on('data', (m: Record<string, unknown>) => resolve(m));
      s.on('error', reject);
      s.write(req);
      s.end();
    });
  const listed = (await ask({ list_services: '' })) as { list_services_response: { service: { name: string }[] } };
  const names = listed.list_services_response.service.map((s) => s.name);
  for (const s of ['chronicle.v1.Containers', 'chronicle.v1.Tasks', 'chronicle.v1.Events', 'chronicle.v1.History', 'chronicle.v1.Daemon']) assert.ok(names.includes(s), `${s} is listed`);
  const described = (await ask({ file_containing_symbol: 'chronicle.v1.Tasks' })) as { file_descriptor_response: { file_descriptor_proto: Buffer[] } };
  assert.ok(described.file_descriptor_response.file_descriptor_proto.some((b) => b.toString('latin1').includes('Tasks')), 'the descriptor of Tasks');
});
