// Shim addresses and the handshake line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Handshake, MAX_SOCKET_PATH, shimAddress } from '../../src/shim/index.js';

test('an address is short, stable, and differs per ns/id', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 200 }), fc.string({ minLength: 1, maxLength: 76 }), (ns, id) => {
      const a = shimAddress('/tmp/chs-abcdef/s', ns, id);
      assert.ok(Buffer.byteLength(a) < MAX_SOCKET_PATH);
      assert.equal(a, shimAddress('/tmp/chs-abcdef/s', ns, id));
      assert.match(a, /^\/tmp\/chs-abcdef\/s\/s\/[0-9a-f]{16}\.sock$/);
    }),
  );
  assert.notEqual(shimAddress('/x', 'a', 'b/c'), shimAddress('/x', 'a/b', 'c'));
  assert.notEqual(shimAddress('/x', 'ns1', 'c'), shimAddress('/x', 'ns2', 'c'));
});

test('a state dir too long for a socket path is refused, not truncated', () => {
  assert.throws(() => shimAddress(`/tmp/${'d'.repeat(80)}`, 'default', 'c1'), RangeError);
});

test('the handshake schema accepts a shim hello and names what is wrong otherwise', () => {
  assert.ok(Handshake.safeParse({ address: '/run/s/0123.sock', pid: 42, version: '0.1.0' }).success);
  const bad = (v: unknown): string | undefined => {
    const r = Handshake.safeParse(v);
    return r.success ? undefined : r.error.issues[0]?.path.join('.');
  };
  assert.equal(bad({ address: 'relative.sock', pid: 42, version: '0.1.0' }), 'address');
  assert.equal(bad({ address: '/a.sock', pid: 0, version: '0.1.0' }), 'pid');
  assert.equal(bad({ address: '/a.sock', pid: 1 }), 'version');
});
