// The optional TCP listener: mutual TLS 1.3 with client certificates from the configured CA.
// A client is who its certificate says; an identity confined to namespace `a` is refused in
// `b` (PERMISSION_DENIED, with an audit record) and sees only `a` in the event stream.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, test } from 'node:test';
import { credentials, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { serviceClient, type ServiceName } from '../../src/api/proto.js';
import { call, readEvents, startDaemon, type RunningDaemon } from '../support/daemon.js';

let dir = '';
let d: RunningDaemon;
let port = 0;
const clients: Client[] = [];

const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

/** A CA, and a key with a certificate for `cn` signed by `ca` (with SANs for a server). */
function makeCa(name: string): void {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${name}`, '-days', '2');
}
function makeCert(name: string, ca: string, server = false): void {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(join(dir, `${name}.ext`), server ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n');
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
}
const file = (name: string): Buffer => readFileSync(join(dir, name));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function tlsClient(service: ServiceName, who?: string): Client {
  const C = serviceClient(service);
  const creds = who ? credentials.createSsl(file('ca.crt'), file(`${who}.key`), file(`${who}.crt`)) : credentials.createSsl(file('ca.crt'));
  const c = new C(`127.0.0.1:${port}`, creds);
  clients.push(c);
  return c;
}

function unary(client: Client, method: string, req: unknown, ns: string): Promise<unknown> {
  const md = new Metadata();
  md.set('chronicle-namespace', ns);
  const fn = (client as unknown as Record<string, (r: unknown, m: Metadata, o: object, cb: (e: ServiceError | null, r: unknown) => void) => void>)[method]!;
  return new Promise((resolve, reject) => fn.call(client, req, md, { deadline: Date.now() + 5000 }, (e, r) => (e ? reject(e) : resolve(r))));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chr-tls-'));
  makeCa('ca');
  makeCa('other-ca');
  makeCert('server', 'ca', true);
  makeCert('alice', 'ca');
  makeCert('mallory', 'other-ca');
  port = await freePort();
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ namespaceLimits: { 'cert:alice': ['a'] } }));
  d = await startDaemon({
    dir,
    args: ['--shim-pool', '0', '--config', join(dir, 'config.json'), '--tls-address', `127.0.0.1:${port}`, '--tls-cert', join(dir, 'server.crt'), '--tls-key', join(dir, 'server.key'), '--tls-ca', join(dir, 'ca.crt')],
  });
});

after(async () => {
  for (const c of clients) c.close();
  await d?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a client without a certificate, or with one from another CA, is refused', async () => {
  for (const who of [undefined, 'mallory']) {
    await assert.rejects(unary(tlsClient('Daemon', who), 'Info', {}, 'a'), (e: ServiceError) => e.code === status.UNAVAILABLE, `${who ?? 'no certificate'} is refused`);
  }
});

test('TLS 1.2 is refused', async () => {
  const err = await new Promise<Error | undefined>((resolve) => {
    const s = connect({ host: '127.0.0.1', port, maxVersion: 'TLSv1.2', ca: file('ca.crt'), key: file('alice.key'), cert: file('alice.crt'), servername: 'localhost', ALPNProtocols: ['h2'] });
    s.once('secureConnect', () => (s.destroy(), resolve(undefined)));
    s.once('error', (e: Error) => resolve(e));
  });
  assert.ok(err, 'the handshake fails');
});

test('alice is cert:alice, may use namespace a, and is refused in b with an audit record', async () => {
  await unary(tlsClient('Containers', 'alice'), 'Create', { id: 'mine', runtime: 'process', args: ['/bin/true'] }, 'a');
  await assert.rejects(
    unary(tlsClient('Containers', 'alice'), 'Create', { id: 'theirs', runtime: 'process', args: ['/bin/true'] }, 'b'),
    (e: ServiceError) => e.code === status.PERMISSION_DENIED && e.metadata.get('chronicle-error-field')[0] === 'chronicle-namespace',
  );
  await assert.rejects(unary(tlsClient('History', 'alice'), 'StateAt', { at: '' }, 'b'), (e: ServiceError) => e.code === status.PERMISSION_DENIED, 'reads are refused too');
  // History is everyone's: someone confined to `a` may not cut it, even from `a`.
  await assert.rejects(unary(tlsClient('Log', 'alice'), 'Compact', { before: '2' }, 'a'), (e: ServiceError) => e.code === status.PERMISSION_DENIED);
  // The owner of the unix socket is not confined.
  await call(d.client('Containers'), 'Create', { id: 'theirs', runtime: 'process', args: ['/bin/true'] }, 'b');

  const events = await readEvents(d);
  const created = events.find((e) => e.type === 'ContainerCreated' && e.id === 'mine')!;
  assert.equal(created.actor, 'cert:alice', 'the certificate names the actor');
  const denied = events.filter((e) => e.type === 'RequestDenied' && e.actor === 'cert:alice');
  assert.deepEqual(
    denied.map((e) => [e.namespace, (JSON.parse(e.dataJson) as { op: string; code: string }).op, (JSON.parse(e.dataJson) as { code: string }).code]),
    [
      ['b', 'containers.Create', 'PERMISSION_DENIED'],
      ['b', 'history.StateAt', 'PERMISSION_DENIED'],
      ['a', 'log.Compact', 'PERMISSION_DENIED'],
    ],
  );
  assert.equal(events.find((e) => e.type === 'ContainerCreated' && e.id === 'theirs')?.actor, `uid:${process.getuid!()}`);

  // alice's view of history and of the event stream is her namespace only.
  const state = (await unary(tlsClient('History', 'alice'), 'StateAt', { at: '' }, 'a')) as { containers: { id: string }[] };
  assert.deepEqual(
    state.containers.map((c) => c.id),
    ['mine'],
  );
  const seen = await new Promise<{ namespace: string }[]>((resolve, reject) => {
    const md = new Metadata();
    md.set('chronicle-namespace', 'a');
    const s = (tlsClient('Events', 'alice') as unknown as { Subscribe: (r: unknown, m: Metadata) => NodeJS.ReadableStream }).Subscribe({ fromSeq: 1, follow: false }, md);
    const out: { namespace: string }[] = [];
    s.on('data', (e: { namespace: string }) => out.push(e));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
  assert.ok(seen.length > 0 && seen.every((e) => e.namespace === 'a'), 'only namespace a');
});
