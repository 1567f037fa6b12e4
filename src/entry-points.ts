// Where each chronicle process starts: its launcher, dist/src/bin/<name>.cjs (which runs
// the program's bundle, built by scripts/bundle.mjs and about twice as fast to start), or
// the export worker's ESM bundle, else tsc's own output. This module runs from
// dist/src/entry-points.js, or from inside a bundle in dist/src/programs/ or dist/src/bin/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const UNBUNDLED = { chronicled: 'main.js', 'chronicle-shim': 'shim/main.js', chronicle: 'cli/main.js', 'chronicle-export-worker': 'fleet/export-worker.js' } as const;
export type EntryPoint = keyof typeof UNBUNDLED;

export function entryPoint(name: EntryPoint): string {
  const here = import.meta.url;
  const srcDir = here.endsWith('.mjs') || here.endsWith('.cjs') ? new URL('../', here) : new URL('./', here);
  // The export worker (a worker thread, no code cache) is an ES module bundle.
  const bundle = new URL(`bin/${name}${name === 'chronicle-export-worker' ? '.mjs' : '.cjs'}`, srcDir);
  return fileURLToPath(existsSync(bundle) ? bundle : new URL(UNBUNDLED[name], srcDir));
}
