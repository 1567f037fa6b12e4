// Builds the web timeline (web/) into dist/web, where the daemon's HTTP server finds it
// (src/api/http-server.ts: ../../web/ from dist/src/api or from the bundle in dist/src/bin).
// esbuild, already the daemon's bundler, is the whole front-end toolchain: the page is plain
// TypeScript and DOM, type-checked by `tsc -p web/tsconfig.json` in `npm run build`.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { build } from 'esbuild';

const out = 'dist/web';
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: 'web/src/main.ts', style: 'web/src/style.css' },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  logLevel: 'warning',
  legalComments: 'none',
});
await copyFile('web/index.html', `${out}/index.html`);
