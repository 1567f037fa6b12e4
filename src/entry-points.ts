// Where each chronicle process starts: its bundle, dist/src/bin/<name>.mjs (built by
// scripts/bundle.mjs, and about twice as fast to start), else tsc's own output. This
// module runs from dist/src/entry-points.js, or from inside a bundle in dist/src/bin/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const UNBUNDLED = { chronicled: 'main.js', 'chronicle-shim': 'shim/main.js', chronicle: 'cli/main.js', 'chronicle-export-worker': 'fleet/export-worker.js' } as const;
export type EntryPoint = keyof typeof UNBUNDLED;

export function entryPoint(name: EntryPoint): string {
  const here = import.meta.url;
  const srcDir = here.endsWith('.mjs') || here.endsWith('.cjs') ? new URL('../', here) : new URL('./', here);
  const bundle = new URL(`bin/${name}.mjs`, srcDir);
  return fileURLToPath(existsSync(bundle) ? bundle : new URL(UNBUNDLED[name], srcDir));
}
