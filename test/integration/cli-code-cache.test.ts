// The installed CLI runs its CommonJS bundle with a V8 code cache on disk: the first run
// writes it, later runs use it (once per command), a cache V8 rejects is replaced, and a
// cache directory that cannot be written changes nothing but the speed; a directory others
// may write to is not trusted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { isAscii } from 'node:buffer';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { entryPoint } from '../../src/entry-points.js';

const CLI = entryPoint('chronicle');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function cli(cacheDir: string, args: string[]): { status: number | null; stdout: string; cache: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, CHRONICLE_CODE_CACHE_DIR: cacheDir, CHRONICLE_CODE_CACHE_DEBUG: '1' } });
  return { status: r.status, stdout: r.stdout, cache: /code cache: (\w+)/.exec(r.stderr)?.[1] ?? '' };
}

const files = (cacheDir: string): string[] => readdirSync(cacheDir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(v8|kinds)$/.test(f));

test('the first run writes the cache, the next ones use it; each command adds what it compiled', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chr-cc-'));
  dirs.push(dir);
  const first = cli(dir, ['--help']);
  assert.equal(first.status, 0);
  assert.match(first.stdout, /^Usage: chronicle/);
  assert.equal(first.cache, 'miss');
  const [v8] = files(dir).filter((f) => f.endsWith('.v8'));
  assert.ok(v8, 'a cache file was written');
  const second = cli(dir, ['--help']);
  assert.equal(second.cache, 'hit');
  assert.equal(second.stdout, first.stdout, 'the same output from cached code');
  const kinds = files(dir).find((f) => f.endsWith('.kinds'))!;
  assert.deepEqual(readFileSync(join(dir, kinds), 'utf8').split('\n'), ['help']);
  // Another command: it runs from the cache and adds its own compiled code once.
  const info = cli(dir, ['--socket', join(dir, 'nothing.sock'), 'info']);
  assert.equal(info.cache, 'hit');
  assert.notEqual(info.status, 0, 'no daemon there');
  assert.deepEqual(readFileSync(join(dir, kinds), 'utf8').split('\n').sort(), ['help', 'info']);
});

test('a cache V8 rejects is replaced; an unwritable cache directory only costs the compile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chr-cc-'));
  dirs.push(dir);
  assert.equal(cli(dir, ['--help']).cache, 'miss');
  const v8 = join(dir, files(dir).find((f) => f.endsWith('.v8'))!);
  writeFileSync(v8, Buffer.alloc(4096, 7));
  const damaged = cli(dir, ['--help']);
  assert.equal(damaged.status, 0);
  assert.equal(damaged.cache, 'rejected');
  assert.equal(cli(dir, ['--help']).cache, 'hit', 'rewritten after the rejection');
  // A file where the cache directory should be: nothing can be written, the CLI still works.
  const blocked = join(dir, 'blocked');
  writeFileSync(blocked, '');
  chmodSync(blocked, 0o400);
  const r = cli(blocked, ['--help']);
  assert.equal(r.status, 0);
  assert.equal(r.cache, 'miss');
});

test('a cache directory others may write to is neither read nor written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chr-cc-'));
  dirs.push(dir);
  assert.equal(cli(dir, ['--help']).cache, 'miss');
  const v8 = files(dir).find((f) => f.endsWith('.v8'))!;
  assert.equal(cli(dir, ['--help']).cache, 'hit');
  chmodSync(join(dir, v8, '..'), 0o777);
  const shared = cli(dir, ['--help']);
  assert.equal(shared.status, 0);
  assert.equal(shared.cache, 'miss', 'a cache anyone could have written is not run');
  rmSync(join(dir, v8));
  assert.equal(cli(dir, ['--help']).status, 0);
  assert.ok(!files(dir).some((f) => f.endsWith('.v8')), 'and none is written there');
});

test('the program bundles are pure ASCII, as the latin1 read of the launcher assumes', () => {
  const programs = join(dirname(dirname(CLI)), 'programs');
  const bundles = readdirSync(programs).filter((f) => f.endsWith('.cjs'));
  assert.deepEqual(bundles.sort(), ['chronicle-shim.cjs', 'chronicle.cjs', 'chronicled.cjs']);
  for (const f of bundles) assert.ok(isAscii(readFileSync(join(programs, f))), `${f} has a non-ASCII byte`);
});
