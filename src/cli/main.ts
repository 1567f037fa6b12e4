#!/usr/bin/env node
// chronicle: the command line client of chronicled. Startup time matters: this entry and
// cli.ts import only small modules, and each command's module is loaded on use.
import module from 'node:module';

// Node 22+: reuse compiled code across runs (absent on Node 20). Before any other import.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// No top-level await: this is also the entry of the CLI's CommonJS bundle (see launch.ts).
// Exit at once (open channels would keep the loop alive); stdout to a pipe or file is
// written synchronously on Linux, so nothing printed is lost.
void import('./cli.js').then(async ({ main, report }) => process.exit(await main(process.argv.slice(2)).catch(report)));
