// A minimal root filesystem from busybox-static: the binary, its applets as symlinks and a
// passwd file. Enough for `sh`, `sleep` and `echo` in a runc container, with no image pull.
import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'sleep', 'echo', 'true', 'false', 'cat', 'ls', 'ps', 'kill', 'date', 'seq', 'yes', 'env', 'id', 'hostname', 'mkdir', 'rm', 'touch', 'tail', 'head', 'wc', 'grep'];

/** Writes the rootfs at `rootfs` (which must not exist yet) and returns it. */
export function buildBusyboxRootfs(rootfs: string): string {
  if (!existsSync(BUSYBOX)) throw new Error('busybox-static is not installed: apt-get install -y busybox-static');
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc', 'host']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  for (const a of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  return rootfs;
}
