// The daemon's shim client speaks gRPC over its own HTTP/2 session (src/shim/grpc-h2.ts):
// here against a real grpc-js server on a unix socket, as the shims serve. Replies decode,
// errors keep their chronicle code, field and message, deadlines reach the server and fire
// against a shim that never answers, and streams deliver every message in order.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttp2Server } from 'node:http2';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { toServiceError } from '../../src/api/status.js';
import { ChronicleError, isChronicleError } from '../../src/errors.js';
import { shimService } from '../../src/shim/proto.js';
import { ShimClient } from '../../src/shim/shim-client.js';

const dir = mkdtempSync(join(tmpdir(), 'chr-h2-'));
const address = join(dir, 'shim.sock');
const wedgedAddress = join(dir, 'wedged.sock');
const server = new Server();
let wedged: NetServer;
const wedgedSockets: Socket[] = [];
/** What the server saw of the last Wait call: its deadline, and whether it was cancelled. */
const lastWait: { deadline?: number; cancelled?: boolean } = {};

const fact = (shimSeq: number): Record<string, unknown> => ({ shimSeq, containerId: 'c1', type: 'exit', pid: 40 + shimSeq, exitCode: shimSeq, signal: '', exitedAt: 1_700_000_000_000 + shimSeq, execId: '' });

/** The ChronicleError a call rejects with (fails the test when it resolves). */
async function failure(p: Promise<unknown>): Promise<ChronicleError> {
  const e = await p.then(
    () => assert.fail('the call should fail'),
    (err: unknown) => err,
  );
  assert.ok(isChronicleError(e), String(e));
  return e;
}

before(async () => {
  server.addService(shimService().service, {
    PID: (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) =>
      cb(null, { pid: 1234, version: 'v-test', lastShimSeq: 7, tasks: [{ id: 'c1', execId: '', pid: 99, status: 'running', exitCode: 0, exitedAt: 0, bundle: '/b', runtime: 'runc' }] }),
    State: (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) =>
      cb(toServiceError(new ChronicleError('INVALID_ARGUMENT', 'invalid id: 100% wrong, über', { field: 'id' })), null),
    Wait: (call: ServerUnaryCall<unknown, unknown>) => {
      const d = call.getDeadline();
      lastWait.deadline = d instanceof Date ? d.getTime() : Number(d);
      lastWait.cancelled = false;
      call.on('cancelled', () => (lastWait.cancelled = true));
    },
    Events: (call: ServerWritableStream<{ after: number }, unknown>) => {
      const from = call.request.after;
      for (let s = from + 1; s <= from + 3; s++) call.write(fact(s));
      // after = 100 asks for an error at the end of the stream; otherwise it stays open.
      if (from === 100) call.emit('error', toServiceError(new ChronicleError('FAILED_PRECONDITION', 'fact log gone')));
    },
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${address}`, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  // A listener that accepts and never says a word, as a wedged shim.
  wedged = createServer((s) => void wedgedSockets.push(s));
  await new Promise<void>((resolve) => wedged.listen(wedgedAddress, resolve));
});

after(async () => {
  server.forceShutdown();
  for (const s of wedgedSockets) s.destroy();
  await new Promise((r) => wedged.close(r));
  rmSync(dir, { recursive: true, force: true });
});

test('a unary reply decodes into the typed reply', async () => {
  using client = new ShimClient(address);
  const r = await client.pid();
  assert.deepEqual(r, { pid: 1234, version: 'v-test', lastShimSeq: 7, tasks: [{ id: 'c1', execId: '', pid: 99, status: 'running', exitCode: 0, exitedAt: 0, bundle: '/b', runtime: 'runc' }] });
  // The session is reused: a second call on the same client answers too.
  assert.equal((await client.pid()).pid, 1234);
});

test('an error keeps its chronicle code, field and message (percent-encoded on the wire)', async () => {
  using client = new ShimClient(address);
  const e = await failure(client.state('c1'));
  assert.equal(e.code, 'INVALID_ARGUMENT');
  assert.equal(e.details['field'], 'id');
  assert.equal(e.message, 'invalid id: 100% wrong, über');
});

test('the deadline reaches the server, and the call is cancelled there when it passes', async () => {
  using client = new ShimClient(address);
  const sent = Date.now();
  const e = await failure(client.wait('c1', '', 300));
  assert.equal(e.code, 'DEADLINE_EXCEEDED');
  assert.ok(lastWait.deadline !== undefined && lastWait.deadline >= sent && lastWait.deadline <= sent + 10_000, `server deadline ${lastWait.deadline}`);
  for (let i = 0; i < 100 && !lastWait.cancelled; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(lastWait.cancelled, true);
});

test('a shim that accepts and never answers: the call fails at its deadline', async () => {
  using client = new ShimClient(wedgedAddress);
  const e = await failure(client.pid(200));
  assert.equal(e.code, 'DEADLINE_EXCEEDED');
});

test('no shim at the address: UNAVAILABLE', async () => {
  using client = new ShimClient(join(dir, 'nobody.sock'));
  const e = await failure(client.pid(2000));
  assert.equal(e.code, 'UNAVAILABLE');
});

test('a stream delivers every message in order, and an abort ends it quietly', async () => {
  using client = new ShimClient(address);
  const abort = new AbortController();
  const got: number[] = [];
  for await (const f of client.events(4, abort.signal)) {
    got.push(f.shimSeq);
    assert.equal(f.exitCode, f.shimSeq);
    if (got.length === 3) abort.abort();
  }
  assert.deepEqual(got, [5, 6, 7]);
});

test('a stream the server ends with an error: its messages, then the error', async () => {
  using client = new ShimClient(address);
  const got: number[] = [];
  const e = await failure(
    (async () => {
      for await (const f of client.events(100)) got.push(f.shimSeq);
    })(),
  );
  assert.deepEqual(got, [101, 102, 103]);
  assert.equal(e.code, 'FAILED_PRECONDITION');
  assert.equal(e.message, 'fact log gone');
});

test('a reply the client cannot read fails the call, though the server said OK', async () => {
  // A plain HTTP/2 server that sends a message flagged compressed (none was negotiated).
  const sock = join(dir, 'compressing.sock');
  const h2 = createHttp2Server((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/grpc' });
    res.addTrailers({ 'grpc-status': '0' });
    res.end(Buffer.from([1, 0, 0, 0, 1, 0]));
  });
  await new Promise<void>((resolve) => h2.listen(sock, resolve));
  try {
    using client = new ShimClient(sock);
    const e = await failure(client.pid(2000));
    assert.equal(e.code, 'INTERNAL');
    assert.match(e.message, /compressed message/);
  } finally {
    await new Promise((r) => h2.close(r));
  }
});

test('a closed client refuses new calls: UNAVAILABLE, with the reason once', async () => {
  const client = new ShimClient(address);
  await client.pid();
  client.close();
  const e = await failure(client.pid());
  assert.equal(e.code, 'UNAVAILABLE');
  assert.equal(e.message, 'connection closed');
});
