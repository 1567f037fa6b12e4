// Binds a gRPC server to a unix socket that appears only once it accepts, mode 0600.
// Bound in place, a client that polls for the file can connect between bind() and
// listen() (seen on a busy machine: ECONNREFUSED, after which grpc-js backs off for a
// second); so the socket is bound and listening under a temporary name, then renamed.
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ServerCredentials, type Server } from '@grpc/grpc-js';

export async function bindUnixSocket(server: Server, socket: string): Promise<void> {
  await mkdir(dirname(socket), { recursive: true, mode: 0o711 });
  // The old socket goes now, not at the rename: a client polling for the file must not find
  // one that refuses it while this start is still recovering.
  await rm(socket, { force: true });
  // One fixed name, cleared first: a start that crashed before the rename leaves no litter
  // behind the next one.
  const bound = `${socket}.tmp`;
  await rm(bound, { force: true });
  const old = process.umask(0o177);
  try {
    await new Promise<number>((resolve, reject) => server.bindAsync(`unix://${bound}`, ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
  } finally {
    process.umask(old);
  }
  await chmod(bound, 0o600);
  await rename(bound, socket);
}
