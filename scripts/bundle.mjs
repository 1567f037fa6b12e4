// Bundles each program (daemon, shim, CLI) into one CommonJS file under dist/src/programs/,
// run by a small CommonJS launcher in dist/src/bin/ with a V8 code cache (src/launch.ts,
// src/code-cache.ts).
// Why: Node spends most of a cold start resolving and reading the ~1,500 module files of
// grpc-js, zod, rxjs and protobufjs; one file per process starts in about half the time,
// and a daemon restart and every shim spawn pay that start. Native addons and packages
// that find files next to themselves at run time stay external.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { build } from 'esbuild';

// These find files beside themselves through __dirname (.proto files; classic-level its
// native addon, through node-gyp-build); in a bundle __dirname would be the bundle's.
const pinDirname = {
  name: 'pin-dirname',
  setup(b) {
    b.onLoad({ filter: /node_modules[\\/](grpc-health-check|@grpc[\\/]reflection|classic-level)[\\/].*\.js$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replaceAll('__dirname', JSON.stringify(dirname(args.path))),
      loader: 'js',
    }));
  },
};

// CommonJS dependencies inside an ESM bundle still call require().
const banner = "import { createRequire as __chronicleRequire } from 'node:module'; const require = __chronicleRequire(import.meta.url);";

// The programs: each bin/<name>.cjs is a small launcher (src/launch.ts) that runs
// programs/<name>.cjs with a V8 code cache. V8 caches the compiled code of a script
// (vm.Script's cachedData), not of an ES module, on Node 20: hence CommonJS bundles. The
// launchers are CommonJS too: an .mjs entry sets up Node's ESM loader and an ES facade for
// each builtin it imports, ~7 ms of CPU at every start (CLI run --rm, main thread: median
// 216 -> 209 ms of 8 alternating runs).
const programs = {
  chronicled: 'dist/src/main.js',
  'chronicle-shim': 'dist/src/shim/main.js',
  chronicle: 'dist/src/cli/main.js',
};
// fleet export's worker thread (started by the daemon only when export is on), as ESM
const entries = { 'chronicle-export-worker': 'dist/src/fleet/export-worker.js' };

// The ESM bundle (the export worker): native addons, the packages that load them or their
// workers from disk, and the NATS client, loaded from disk when used.
const EXTERNAL = ['classic-level', 'koffi', 'msgpackr', 'pino', '@nats-io/*'];
// The programs' CommonJS bundles keep only native addons outside. An external import is
// loaded from disk at start, through Node's resolver and with no code cache, even when only
// a lazily used path needs it: the CLI's `run` loaded the NATS client, pino and msgpackr
// (~150 files, ~60 ms), and the daemon spent ~80 ms of its ~360 ms to 'loaded' here in
// require() of its externals. None of the programs uses a pino transport (worker files), and
// msgpackr's native extension is optional (loaded from disk when present). classic-level's
// JavaScript (and abstract-level's) is bundled; its addon is still loaded from its package.
const PROGRAM_EXTERNAL = ['koffi', 'msgpackr-extract'];

// Whitespace and syntax minified, identifiers kept (stack traces still name functions): every
// start reads, hashes and decodes the whole bundle, and comments and indentation were a third
// of its 2.6 MB. ASCII only, so that the source is a one-byte string read as latin1
// (src/code-cache.ts): a UTF-8 decode of one stray 'µ' made a two-byte copy (~14 of the CLI's
// ~75 ms of start-up CPU).
const common = { bundle: true, platform: 'node', target: 'node20', plugins: [pinDirname], logLevel: 'warning', legalComments: 'none', charset: 'ascii', minifyWhitespace: true, minifySyntax: true };

/** esbuild leaves non-ASCII inside regular expression literals; \uXXXX means the same there. */
async function asciiOnly(file) {
  const text = await readFile(file, 'utf8');
  const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== text) await writeFile(file, ascii);
}

// Launchers and bundles of earlier layouts would otherwise linger next to the new ones.
await Promise.all(['dist/src/bin', 'dist/src/programs'].map((dir) => rm(dir, { recursive: true, force: true })));
// import.meta.url becomes the output file's own URL in a CommonJS bundle.
const metaUrl = { define: { 'import.meta.url': '__chronicleMetaUrl' }, banner: { js: "var __chronicleMetaUrl = require('node:url').pathToFileURL(__filename).href;" } };
await Promise.all([
  ...Object.entries(entries).map(([name, entry]) =>
    build({
      ...common,
      entryPoints: [entry],
      outfile: `dist/src/bin/${name}.mjs`,
      format: 'esm',
      banner: { js: banner }, // the entry keeps its own #! line
      external: EXTERNAL,
    }),
  ),
  // The launchers, one per program (the launcher finds its program by its own name).
  ...Object.keys(programs).map((name) =>
    build({ ...common, ...metaUrl, entryPoints: ['dist/src/launch.js'], outfile: `dist/src/bin/${name}.cjs`, format: 'cjs' }),
  ),
  // The programs themselves, as CommonJS (the paths they resolve from import.meta.url
  // assume dist/src/<dir>/, as dist/src/programs/ is).
  ...Object.entries(programs).map(([name, entry]) =>
    build({
      ...common,
      ...metaUrl,
      entryPoints: [entry],
      outfile: `dist/src/programs/${name}.cjs`,
      format: 'cjs',
      // import() becomes require(): code run by vm.Script has no loader for import() on Node 20
      supported: { 'dynamic-import': false },
      external: PROGRAM_EXTERNAL,
    }),
  ),
]);
await Promise.all(Object.keys(programs).map((name) => asciiOnly(`dist/src/programs/${name}.cjs`)));
