// A shim's socket path: short (unix socket paths stop at 107 bytes) and derived from ns/id
// (or the group name), so the daemon can name it in ShimSpawning before the spawn.
import { createHash } from 'node:crypto';
import { join } from 'node:path';

export const MAX_SOCKET_PATH = 100;

export function shimAddress(stateDir: string, ns: string, key: string): string {
  // NUL cannot occur in either part, so a/b + c and a + b/c never share a socket.
  const h = createHash('sha256').update(`${ns}\0${key}`).digest('hex').slice(0, 16);
  const path = join(stateDir, 's', `${h}.sock`);
  if (Buffer.byteLength(path) >= MAX_SOCKET_PATH) throw new RangeError(`shim socket path too long (${path.length} bytes): use a shorter state dir`);
  return path;
}
