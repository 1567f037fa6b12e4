// The pieces of a checkpoint that need no CRIU: the image digest and the manifest's OCI config.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ociForRestore, readManifest, readOciConfig } from '../../src/api/checkpoint-manifest.js';
import { isChronicleError } from '../../src/errors.js';
import { digestOf, measureImage } from '../../src/shim/checkpoint-image.js';

const dir = mkdtempSync(join(tmpdir(), 'chr-img-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the image digest covers every file: a flipped byte, a missing or an extra file change it', async () => {
  const img = join(dir, 'image');
  mkdirSync(img);
  writeFileSync(join(img, 'pages-1.img'), Buffer.alloc(4096, 7));
  writeFileSync(join(img, 'core-1.img'), 'core');
  mkdirSync(join(img, 'subdir')); // not a file: not part of the image
  const a = await measureImage(img);
  assert.equal(a.bytes, 4096 + 4);
  assert.deepEqual(a.files.map((f) => f.name), ['core-1.img', 'pages-1.img']);
  assert.equal(digestOf([...a.files].reverse()), a.digest, 'order does not matter');
  const flipped = Buffer.alloc(4096, 7);
  flipped[100] = 8;
  writeFileSync(join(img, 'pages-1.img'), flipped);
  const b = await measureImage(img);
  assert.notEqual(b.digest, a.digest);
  writeFileSync(join(img, 'extra.img'), '');
  assert.notEqual((await measureImage(img)).digest, b.digest);
});

test('the OCI config keeps working from another bundle: rootfs made absolute, a cgroup of its own', async () => {
  const bundle = join(dir, 'bundle');
  mkdirSync(bundle);
  writeFileSync(join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', root: { path: 'rootfs', readonly: true }, linux: { cgroupsPath: '/a/b', namespaces: [{ type: 'pid' }] } }));
  const oci = await readOciConfig(bundle);
  assert.deepEqual(oci['root'], { path: join(bundle, 'rootfs'), readonly: true });
  const moved = ociForRestore(oci, '/chronicle/default/x');
  assert.deepEqual(moved['linux'], { cgroupsPath: '/chronicle/default/x', namespaces: [{ type: 'pid' }] });
  assert.equal((oci['linux'] as { cgroupsPath: string }).cgroupsPath, '/a/b', 'the original is not changed');
});

test('a missing or malformed manifest is FAILED_PRECONDITION', async () => {
  const cp = join(dir, 'cp');
  mkdirSync(cp);
  await assert.rejects(readManifest(cp, 'cp'), (e) => isChronicleError(e) && e.code === 'FAILED_PRECONDITION');
  writeFileSync(join(cp, 'manifest.json'), JSON.stringify({ version: 1, checkpointId: 'cp' }));
  await assert.rejects(readManifest(cp, 'cp'), (e) => isChronicleError(e) && e.code === 'FAILED_PRECONDITION');
});
