#!/usr/bin/env node
// The installed chronicle, chronicled and chronicle-shim: each is this file, bundled as
// CommonJS to dist/src/bin/<name>.cjs, and runs its program's bundle
// (dist/src/programs/<name>.cjs) with a V8 code cache (see code-cache.ts). The program is
// this file's own name.
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWithCodeCache } from './code-cache.js';

const self = fileURLToPath(import.meta.url);
const name = basename(self, '.cjs');

/** What a run compiles depends on the CLI's command: the first word that is not a flag. */
function cliCommand(args: readonly string[]): string {
  const command = args.find((a, i) => !a.startsWith('-') && !/^--(socket|namespace|timeout)$|^-n$/.test(args[i - 1] ?? '')) ?? 'help';
  return command.replace(/[^a-z-]/g, '').slice(0, 32) || 'other';
}

runWithCodeCache(fileURLToPath(new URL(`../programs/${name}.cjs`, import.meta.url)), name === 'chronicle' ? cliCommand(process.argv.slice(2)) : name);
