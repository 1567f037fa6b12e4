// The probe floor of bench:restart: a Node process that does nothing but call PID() once on
// every shim socket named on its command line, concurrently, and exit. No log, no projection,
// no gRPC library: each request is one pre-built buffer of HTTP/2 frames (connection preface,
// SETTINGS, HEADERS, DATA), and the reply is read frame by frame until the trailers end the
// stream. Whatever a restarted chronicled does, it has to start Node and get these answers, so
// the time this takes bounds chronicled's restart from below (the shims' own CPU is the same).
// Prints `verified: K`, K being the replies that carry a shim pid, then `pids:` and the pid
// each socket answered (0 for none), in the order given. CommonJS, as chronicled's launcher
// is: an ES module entry starts ~10 ms later here (medians of 30 alternating runs, twice).
import { connect } from 'node:net';

const FRAME_DATA = 0;
const FRAME_HEADERS = 1;
const FRAME_SETTINGS = 4;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK string literal, not Huffman-coded (every string here is shorter than 127 bytes). */
function hpackString(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length]), b]);
}

// HPACK (RFC 7541): 0x83 and 0x86 are the static entries ':method: POST' and ':scheme: http';
// 0x04, 0x01 and 0x0f 0x10 are literals without indexing whose names are the static entries
// 4 (:path), 1 (:authority) and 31 (content-type); 0x00 is a literal with a new name.
const headerBlock = Buffer.concat([
  Buffer.from([0x83, 0x86, 0x04]),
  hpackString('/chronicle.shim.v1.Shim/PID'),
  Buffer.from([0x01]),
  hpackString('localhost'),
  Buffer.from([0x0f, 0x10]),
  hpackString('application/grpc'),
  Buffer.from([0x00]),
  hpackString('te'),
  hpackString('trailers'),
]);
const REQUEST = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
  frame(FRAME_SETTINGS, 0, 0, Buffer.alloc(0)),
  frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, headerBlock),
  frame(FRAME_DATA, FLAG_END_STREAM, 1, Buffer.from([0, 0, 0, 0, 0])), // google.protobuf.Empty
]);

/** PidReply.pid (field 1, a varint) from one gRPC message frame, or 0. */
function pidOf(message: Buffer): number {
  if (message.length < 7 || message[5] !== 0x08) return 0;
  let pid = 0;
  for (let i = 6, shift = 0; i < message.length && shift < 35; i++, shift += 7) {
    pid += (message[i]! & 0x7f) * 2 ** shift;
    if ((message[i]! & 0x80) === 0) return pid;
  }
  return 0;
}

function probe(socketPath: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let pending: Buffer = Buffer.alloc(0);
    let pid = 0;
    const finish = (answered: number): void => {
      socket.destroy();
      resolve(answered);
    };
    socket.once('connect', () => socket.write(REQUEST));
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) return;
        const [type, flags] = [pending[3]!, pending[4]!];
        const stream = pending.readUInt32BE(5) & 0x7fffffff;
        const payload = pending.subarray(9, 9 + length);
        pending = pending.subarray(9 + length);
        if (stream !== 1) continue;
        if (type === FRAME_DATA) pid = pidOf(payload);
        if (type === FRAME_HEADERS && flags & FLAG_END_STREAM) return finish(pid);
      }
    });
    socket.once('error', () => finish(0));
    socket.once('close', () => finish(0));
  });
}

void Promise.all(process.argv.slice(2).map(probe)).then((pids) => {
  process.stdout.write(`verified: ${pids.filter((p) => p > 0).length}\npids: ${pids.join(' ')}\n`);
});
