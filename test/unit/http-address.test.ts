import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopback, parseHttpAddress } from '../../src/api/http-address.js';

test('web listen addresses: a bare port is loopback; host:port and [ipv6]:port', () => {
  assert.deepEqual(parseHttpAddress('8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseHttpAddress('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
  assert.deepEqual(parseHttpAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseHttpAddress('localhost:9'), { host: 'localhost', port: 9 });
  for (const bad of ['', 'x', ':80', '1.2.3.4:', '70000', '[zz]:1', '::1:80', 'a:b:80']) assert.equal(parseHttpAddress(bad), undefined, bad);
});

test('loopback: 127.0.0.0/8, ::1 and localhost; nothing else', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) assert.ok(isLoopback(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', 'localhost.example.com', '127.0.0.1.nip.io', '']) assert.ok(!isLoopback(h), h);
});
