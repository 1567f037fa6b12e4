// What a checkpoint image is made of, measured the same way by the shim that wrote it and
// the daemon that restores it: each file's size and sha256, and one digest over them all
// (sha256 of "name\0sha256\n" lines in name order), so a changed, missing or extra file is
// caught before CRIU reads anything.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const ImageFile = z.object({ name: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
export type ImageFile = z.infer<typeof ImageFile>;

export interface ImageMeasure {
  bytes: number;
  digest: string;
  files: ImageFile[];
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (b) => h.update(b))
      .once('error', reject)
      .once('end', () => resolve(h.digest('hex')));
  });
}

/** The digest of a list of measured files (sorted by name here). */
export function digestOf(files: readonly ImageFile[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) h.update(`${f.name}\0${f.sha256}\n`);
  return h.digest('hex');
}

/** Measures every regular file directly in `dir` (CRIU writes a flat directory). */
export async function measureImage(dir: string): Promise<ImageMeasure> {
  const names = (await readdir(dir)).sort();
  const files: ImageFile[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const st = await stat(path);
    if (!st.isFile()) continue;
    files.push({ name, bytes: st.size, sha256: await sha256File(path) });
  }
  return { bytes: files.reduce((n, f) => n + f.bytes, 0), digest: digestOf(files), files };
}
