import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import type { ChronicleError } from '../../src/errors.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'chr-cfg-'));
  dirs.push(d);
  return d;
}

const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/home/u' };

test('root defaults: /var/lib/chronicle, /run/chronicle, runc when installed', () => {
  const c = loadConfig({ argv: [], env, uid: 0 });
  assert.equal(c.root, '/var/lib/chronicle');
  assert.equal(c.state, '/run/chronicle');
  assert.equal(c.socket, '/run/chronicle/chronicle.sock');
  assert.equal(c.runtime, 'runc');
});

test('non-root defaults: XDG dirs and the process runtime', () => {
  const c = loadConfig({ argv: [], env: { ...env, XDG_DATA_HOME: '/home/u/.data', XDG_RUNTIME_DIR: '/run/user/1000' }, uid: 1000 });
  assert.equal(c.root, '/home/u/.data/chronicle');
  assert.equal(c.state, '/run/user/1000/chronicle');
  assert.equal(c.socket, '/run/user/1000/chronicle/chronicle.sock');
  assert.equal(c.runtime, 'process');
  const bare = loadConfig({ argv: [], env: { PATH: env.PATH, HOME: '/home/u' }, uid: 1000 });
  assert.equal(bare.root, '/home/u/.local/share/chronicle');
  assert.ok(bare.state.startsWith(tmpdir()));
});

test('file < environment < flags; the socket follows the state dir unless set', () => {
  const dir = tempDir();
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ root: '/from/file', state: '/file/state', snapshotInterval: 5 }));
  const c = loadConfig({ argv: ['--config', file, '--snapshot-interval', '7'], env: { ...env, CHRONICLE_ROOT: '/from/env' }, uid: 0 });
  assert.equal(c.root, '/from/env');
  assert.equal(c.state, '/file/state');
  assert.equal(c.socket, '/file/state/chronicle.sock');
  assert.equal(c.snapshotInterval, 7);
});

test('bad values are INVALID_ARGUMENT naming the field', () => {
  const bad = (argv: string[], field: string): void =>
    assert.throws(
      () => loadConfig({ argv, env, uid: 0 }),
      (e: ChronicleError) => e.code === 'INVALID_ARGUMENT' && e.details['field'] === field,
    );
  bad(['--root', 'relative'], 'config.root');
  bad(['--runtime', 'kata'], 'config.runtime');
  bad(['--snapshot-interval=-3'], 'config.snapshotInterval');
  bad(['--snapshot-interval', 'many'], 'config.snapshotInterval');
  bad(['--log-level', 'loud'], 'config.logLevel');
  bad(['--metrics-address', 'nope'], 'config.metricsAddress');
  bad(['--no-such-flag'], 'argv');
  const dir = tempDir();
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ unknownKey: 1 }));
  bad(['--config', join(dir, 'bad.json')], 'config');
});

test('--http: off by default, a bare port is loopback, a non-loopback bind needs a token', () => {
  assert.equal(loadConfig({ argv: [], env, uid: 0 }).httpAddress, undefined);
  assert.equal(loadConfig({ argv: ['--http', '8080'], env, uid: 0 }).httpAddress, '8080');
  assert.equal(loadConfig({ argv: ['--http', '127.0.0.1:8080'], env, uid: 0 }).httpToken, undefined);
  assert.equal(loadConfig({ argv: ['--http', '[::1]:8080'], env, uid: 0 }).httpAddress, '[::1]:8080');
  assert.equal(loadConfig({ argv: ['--http', 'localhost:0'], env, uid: 0 }).httpAddress, 'localhost:0');
  const bad = (argv: string[], field: string, more: NodeJS.ProcessEnv = {}): void =>
    assert.throws(
      () => loadConfig({ argv, env: { ...env, ...more }, uid: 0 }),
      (e: ChronicleError) => e.code === 'INVALID_ARGUMENT' && e.details['field'] === field,
    );
  bad(['--http', '0.0.0.0:8080'], 'config.httpToken');
  bad(['--http', '[::]:8080'], 'config.httpToken');
  bad(['--http', '10.1.2.3:8080'], 'config.httpToken');
  bad(['--http', 'example.com:80'], 'config.httpToken');
  bad(['--http', 'nope'], 'config.httpAddress');
  bad(['--http', '127.0.0.1:99999'], 'config.httpAddress');
  bad(['--http', '[nothex]:80'], 'config.httpAddress');
  bad(['--http', '0.0.0.0:8080'], 'config.httpToken', { CHRONICLE_HTTP_TOKEN: 'short' });
  bad(['--http-token', 'x'.repeat(20)], 'argv'); // no flag: a token on the command line shows in ps
  const withToken = loadConfig({ argv: ['--http', '0.0.0.0:8080'], env: { ...env, CHRONICLE_HTTP_TOKEN: 'x'.repeat(20) }, uid: 0 });
  assert.equal(withToken.httpToken, 'x'.repeat(20));
  const dir = tempDir();
  writeFileSync(join(dir, 'web.json'), JSON.stringify({ httpAddress: '0.0.0.0:9000', httpToken: 'y'.repeat(32) }));
  const fromFile = loadConfig({ argv: ['--config', join(dir, 'web.json')], env, uid: 0 });
  assert.deepEqual([fromFile.httpAddress, fromFile.httpToken], ['0.0.0.0:9000', 'y'.repeat(32)]);
});
