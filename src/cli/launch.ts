#!/usr/bin/env node
// chronicle, as installed: runs the CLI's CommonJS bundle (chronicle.cjs, next to this file)
// with a V8 code cache (see code-cache.ts). Without a bundle beside it, the CLI as tsc built it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runWithCodeCache } from '../code-cache.js';

const bundle = fileURLToPath(new URL('./chronicle.cjs', import.meta.url));
if (existsSync(bundle)) {
  // The first word that is not a flag: the command (what a run compiles depends on it).
  const command = process.argv.slice(2).find((a, i, all) => !a.startsWith('-') && !/^--(socket|namespace|timeout)$|^-n$/.test(all[i - 1] ?? '')) ?? 'help';
  runWithCodeCache(bundle, command.replace(/[^a-z-]/g, '').slice(0, 32) || 'other');
} else {
  // A URL esbuild does not follow: the launcher's bundle stays a few KB.
  await import(new URL('./main.js', import.meta.url).href);
}
