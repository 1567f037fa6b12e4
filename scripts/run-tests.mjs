#!/usr/bin/env node
// Runs the compiled tests with node's own runner. Node 20's `--test` takes no globs,
// so the files are listed here. Optional args narrow the run to folders under test/.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = 'dist/test';
const folders = process.argv.slice(2);
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
};
for (const f of folders.length ? folders : ['']) walk(join(root, f));
files.sort();
if (files.length === 0) {
  console.error('no test files found under', root);
  process.exit(1);
}
// One file at a time by default: the integration files start daemons, shims and runc
// containers, and on a 2-core machine running them side by side only adds timeouts.
const concurrency = process.env.TEST_CONCURRENCY ?? '1';
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
