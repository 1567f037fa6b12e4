// What a checkpoint image is made of, measured the same way by the shim that wrote it and
// the daemon that restores it: each file's size and sha256, and one digest over them all
// (sha256 of "name\0sha256\n" lines in name order), so a changed, missing or extra file is
// caught before CRIU reads anything.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';

export const ImageFile = z.object({ name: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
export type ImageFile = z.infer<typeof ImageFile>;

export interface ImageMeasure {
  bytes: number;
  digest: string;
  files: ImageFile[];
}

/** Files up to this size are read in one synchronous call (well under a millisecond each). */
const SMALL_FILE = 256 * 1024;

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
  // A dump is mostly ~30 small files: read at once, each costs microseconds, where a stream
  // per file queued ~5 operations each on the thread pool (4-9 ms for a busybox image, in
  // front of everything else the daemon had queued there). Big files (memory pages) are
  // streamed side by side, so a large image never blocks the event loop.
  const measured = await Promise.all(
    names.map(async (name): Promise<ImageFile | undefined> => {
      const path = join(dir, name);
      const st = statSync(path);
      if (!st.isFile()) return undefined;
      return { name, bytes: st.size, sha256: st.size <= SMALL_FILE ? createHash('sha256').update(readFileSync(path)).digest('hex') : await sha256File(path) };
    }),
  );
  const files = measured.filter((f): f is ImageFile => f !== undefined);
  return { bytes: files.reduce((n, f) => n + f.bytes, 0), digest: digestOf(files), files };
}
