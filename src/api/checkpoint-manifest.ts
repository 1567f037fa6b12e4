// <root>/checkpoints/<checkpoint-id>/manifest.json: what a restore needs besides CRIU's
// image (image/): the container's spec and its OCI config (rootfs made absolute), the
// runtime, the size and digest of the image files, and the checkpoint it descends from.
// The log's TaskCheckpointed fact is the authority; the manifest travels with the image.
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import * as z from 'zod';
import { ChronicleError } from '../errors.js';
import { ContainerCreated, Id } from '../events/schemas.js';
import { ImageFile } from '../shim/index.js';

export const MANIFEST_FILE = 'manifest.json';
export const IMAGE_DIR = 'image';
export const WORK_DIR = 'work';

export const OciConfig = z.record(z.string(), z.unknown());
export type OciConfig = z.infer<typeof OciConfig>;

export const Manifest = z.object({
  version: z.literal(1),
  checkpointId: Id,
  ns: Id,
  containerId: Id,
  createdAt: z.number().int().nonnegative(),
  runtime: z.literal('runc'),
  runtimeBinary: z.string(),
  container: ContainerCreated,
  oci: OciConfig,
  bytes: z.number().int().nonnegative(),
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.array(ImageFile),
  parent: z.string().nullable(),
  leftRunning: z.boolean(),
  paused: z.boolean(),
});
export type Manifest = z.infer<typeof Manifest>;

/** A bundle's config.json with root.path made absolute, so that it works from another bundle dir. */
export async function readOciConfig(bundle: string): Promise<OciConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'));
  } catch (e) {
    throw new ChronicleError('FAILED_PRECONDITION', `cannot read ${join(bundle, 'config.json')}: ${e instanceof Error ? e.message : String(e)}`, {}, { cause: e });
  }
  const oci = OciConfig.parse(raw);
  const root = z.object({ path: z.string() }).passthrough().safeParse(oci['root']);
  if (root.success && !isAbsolute(root.data.path)) oci['root'] = { ...root.data, path: resolve(bundle, root.data.path) };
  return oci;
}

/**
 * The OCI config for a restore into a new container: the same, in a cgroup of its own (the
 * original may still be running in its cgroup).
 */
export function ociForRestore(oci: OciConfig, cgroupsPath: string): OciConfig {
  const linux = z.record(z.string(), z.unknown()).safeParse(oci['linux']);
  return { ...oci, linux: { ...(linux.success ? linux.data : {}), cgroupsPath } };
}

export async function writeManifest(dir: string, m: Manifest): Promise<void> {
  const tmp = join(dir, `.${MANIFEST_FILE}.${randomBytes(4).toString('hex')}`);
  await writeFile(tmp, JSON.stringify(m, null, 2), { mode: 0o600 });
  await rename(tmp, join(dir, MANIFEST_FILE));
}

/** The manifest of a checkpoint dir, or FAILED_PRECONDITION saying what is wrong with it. */
export async function readManifest(dir: string, checkpointId: string): Promise<Manifest> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8'));
  } catch (e) {
    throw new ChronicleError('FAILED_PRECONDITION', `checkpoint ${checkpointId} is damaged: cannot read ${join(dir, MANIFEST_FILE)} (${e instanceof Error ? e.message : String(e)})`, { checkpointId });
  }
  const m = Manifest.safeParse(raw);
  if (!m.success) {
    throw new ChronicleError('FAILED_PRECONDITION', `checkpoint ${checkpointId} is damaged: bad ${MANIFEST_FILE} at ${m.error.issues[0]?.path.join('.') ?? '?'}`, { checkpointId });
  }
  if (m.data.checkpointId !== checkpointId) throw new ChronicleError('FAILED_PRECONDITION', `checkpoint ${checkpointId} is damaged: its manifest names ${m.data.checkpointId}`, { checkpointId });
  return m.data;
}
