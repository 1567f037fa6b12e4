// A busybox rootfs built from busybox-static (no image pulls), once per test process, and
// OCI bundles that share it read-only (each with its own tmpfs /tmp and an optional
// writable bind mount from the host, to observe a container from outside).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ociSpec } from '../../src/api/oci-spec.js';
import { buildBusyboxRootfs } from '../../src/demo/busybox-rootfs.js';

let shared: string | undefined;

/** The shared rootfs (built on first use). */
export function busyboxRootfs(): string {
  if (shared) return shared;
  const dir = mkdtempSync(join(tmpdir(), 'chr-rootfs-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true })); // tests end with no container left
  shared = buildBusyboxRootfs(join(dir, 'rootfs'));
  return shared;
}

export interface BundleOptions {
  args: string[];
  env?: string[];
  cwd?: string;
  /** A host dir mounted read-write at /host inside the container. */
  hostDir?: string;
  /** A memory limit (no swap on top), to make the OOM killer act. */
  memoryLimitBytes?: number;
}

/** Writes <dir>/config.json for a busybox container; returns dir. */
export function makeBundle(dir: string, opts: BundleOptions): string {
  mkdirSync(dir, { recursive: true });
  // A cgroup of its own: runc's default (/<id>) is shared by equal ids across runc roots.
  const cgroup = `/chronicle-test/${randomUUID()}`;
  const spec = ociSpec(busyboxRootfs(), { args: opts.args, env: opts.env ?? [], cwd: opts.cwd ?? '/' }, 'test', cgroup);
  const root = spec['root'] as { path: string; readonly: boolean };
  root.readonly = true;
  const mounts = spec['mounts'] as Record<string, unknown>[];
  mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=16m'] });
  if (opts.memoryLimitBytes) {
    const linux = spec['linux'] as { resources: Record<string, unknown> };
    linux.resources['memory'] = { limit: opts.memoryLimitBytes, swap: opts.memoryLimitBytes };
  }
  if (opts.hostDir) mounts.push({ destination: '/host', type: 'bind', source: opts.hostDir, options: ['rbind', 'rw'] });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}
