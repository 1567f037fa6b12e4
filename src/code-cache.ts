// Runs a CommonJS bundle through V8 with a code cache on disk, as Node 22's
// module.enableCompileCache does (Node 20 has none). Each CLI command, daemon restart and
// shim spawn is a fresh process, and compiling a 2-3 MB bundle plus the functions it runs
// cost ~60 ms of a `chronicle run --rm` (median 260 -> 204 ms measured with a cache made by
// a run).
//
// The cache holds what a process compiled, written when it exits: once per command name
// (a `--help` compiles little of what `run` needs), to a per-user directory, keyed by the
// bundle's size and mtime and Node's version, in a directory only its user may write. Any
// failure (no cache, a stale one that V8 rejects, a read-only or shared directory) only
// costs the compile.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import vm from 'node:vm';

/** Where caches go: $CHRONICLE_CODE_CACHE_DIR, else $XDG_CACHE_HOME/chronicle, else ~/.cache/chronicle. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['CHRONICLE_CODE_CACHE_DIR'] || join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'chronicle');
}

/**
 * Compiled code is run as is: a cache is read from, or written to, a directory only when
 * this user owns it and nobody else may write in it (nor to the file).
 */
function ownedPrivately(path: string): boolean {
  try {
    const s = statSync(path);
    return s.uid === process.getuid?.() && (s.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function readOrUndefined(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Runs `bundle` (CommonJS) as the main program; `kind` names what it compiles (a command).
 * The bundle may not use import(): code run by vm.Script has no loader for it on Node 20
 * (scripts/bundle.mjs turns each import() into a require()); and it must be ASCII (read as
 * latin1, see below).
 */
export function runWithCodeCache(bundle: string, kind: string): void {
  const st = statSync(bundle);
  const dir = join(codeCacheDir(), `${process.version}-${process.arch}`, basename(bundle));
  const base = join(dir, `${st.size}-${Math.floor(st.mtimeMs)}`);
  const cacheFile = `${base}.v8`;
  // The command names whose compiled code is already in the cache, one per line.
  const kindsFile = `${base}.kinds`;
  const cachedData = ownedPrivately(dir) && ownedPrivately(cacheFile) ? readOrUndefined(cacheFile) : undefined;
  const kinds = new Set((readOrUndefined(kindsFile)?.toString() ?? '').split('\n').filter(Boolean));
  // A #! line is valid only at the very start of a file, not inside the module wrapper.
  // Read as latin1, a one-byte string with no UTF-8 decode: scripts/bundle.mjs escapes every
  // non-ASCII character of the bundles, so the two decodings agree (a test checks the built
  // bundles). Checking that here at every start cost ~2.5 ms per 1.5 MB.
  const source = readFileSync(bundle, 'latin1').replace(/^#!.*/, '');
  const script = new vm.Script(Module.wrap(source), {
    filename: bundle,
    ...(cachedData ? { cachedData } : {}),
  });
  const used = cachedData !== undefined && !script.cachedDataRejected;
  if (process.env['CHRONICLE_CODE_CACHE_DEBUG']) process.stderr.write(`code cache: ${cachedData === undefined ? 'miss' : used ? 'hit' : 'rejected'}\n`);
  if (!used || !kinds.has(kind)) {
    process.once('exit', () => {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        if (!ownedPrivately(dir)) return;
        // Atomic: another process may be reading or writing the same cache.
        const tmp = `${cacheFile}.${process.pid}`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
        writeFileSync(kindsFile, [...(used ? kinds : []), kind].join('\n'));
        // Caches of earlier builds of the bundle serve nothing more.
        for (const f of readdirSync(dir)) if (!join(dir, f).startsWith(base)) rmSync(join(dir, f), { force: true });
      } catch {
        // a cache that cannot be written costs only the compile next time
      }
    });
  }
  const main = new Module(bundle);
  main.filename = bundle;
  const fn = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  fn.call(main.exports, main.exports, createRequire(bundle), main, bundle, dirname(bundle));
}
