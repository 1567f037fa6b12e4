// The codecs generated at build time (scripts/proto-codecs.mjs) behave as proto-loader's:
// for every method of chronicle.v1 and the shim API, the same path, streaming and names,
// the same bytes for the same message (filled in every field, and empty), and the same
// object back from those bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { MethodDefinition, ServiceClientConstructor, ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { serviceClient, type ServiceName } from '../../src/api/proto.js';
import { shimService } from '../../src/shim/proto.js';
import { CONVERSION, type Message } from '../../src/static-protos.js';

const protoFile = (name: string): string => fileURLToPath(new URL(`../../../proto/${name}`, import.meta.url));

/** A value for every field (the first member of each oneof only), nested three deep. */
function sample(type: protobuf.Type, depth = 0): Message {
  const out: Message = {};
  if (depth > 3) return out;
  const skipped = new Set(type.oneofsArray.flatMap((o) => o.fieldsArray.slice(1).map((f) => f.name)));
  for (const f of type.fieldsArray) {
    if (skipped.has(f.name)) continue;
    f.resolve();
    const one = (): unknown => {
      const t = f.resolvedType;
      if (t instanceof protobuf.Enum) return Object.keys(t.values).at(-1);
      if (t instanceof protobuf.Type) return sample(t, depth + 1);
      if (f.type === 'string') return `v-${f.name}`;
      if (f.type === 'bool') return true;
      if (f.type === 'bytes') return Buffer.from('ab');
      if (f.type === 'double' || f.type === 'float') return 1.5;
      if (/64$/.test(f.type)) return 1_234_567_890_123;
      return 7;
    };
    if (f instanceof protobuf.MapField) out[f.name] = { [f.keyType === 'string' ? 'k' : '3']: one() };
    else if (f.repeated) out[f.name] = [one(), one()];
    else out[f.name] = one();
  }
  return out;
}

function compare(file: string, loaded: Record<string, ServiceClientConstructor>): void {
  const root = protobuf.loadSync(protoFile(file));
  root.resolveAll();
  const byLoader = loadSync(protoFile(file), { keepCase: false, ...CONVERSION });
  // Message definitions carry a format; services are the rest: all of them are compared.
  const services = Object.entries(byLoader).filter(([, d]) => !('format' in d)).map(([n]) => n);
  assert.deepEqual(Object.keys(loaded).sort(), services.sort());
  for (const [fullName, client] of Object.entries(loaded)) {
    const theirs = byLoader[fullName] as ServiceDefinition;
    const ours = client.service;
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort(), `${fullName}: methods`);
    for (const [name, m] of Object.entries(ours) as [string, MethodDefinition<Message, Message> & { originalName?: string }][]) {
      const t = theirs[name] as MethodDefinition<Message, Message> & { originalName?: string };
      const at = `${fullName}.${name}`;
      assert.equal(m.path, t.path, at);
      assert.equal(m.requestStream, t.requestStream, at);
      assert.equal(m.responseStream, t.responseStream, at);
      assert.equal(m.originalName, t.originalName, at);
      const method = root.lookupService(fullName).methods[name]!;
      const sides = [
        [m.requestSerialize, m.requestDeserialize, t.requestSerialize, t.requestDeserialize, method.resolvedRequestType!],
        [m.responseSerialize, m.responseDeserialize, t.responseSerialize, t.responseDeserialize, method.resolvedResponseType!],
      ] as const;
      for (const [ser, de, theirSer, theirDe, type] of sides) {
        for (const value of [{}, sample(type)]) {
          const bytes = ser(value);
          assert.deepEqual(bytes, theirSer(value), `${at} ${type.name}: bytes`);
          assert.deepEqual(de(bytes), theirDe(bytes), `${at} ${type.name}: decoded`);
        }
      }
    }
    // The client has each method by its proto name and by proto-loader's camelCase alias.
    const proto = client.prototype as Record<string, unknown>;
    for (const [name, m] of Object.entries(ours) as [string, { originalName?: string }][]) {
      assert.equal(typeof proto[name], 'function', `${fullName}.${name}`);
      assert.equal(typeof proto[m.originalName ?? name], 'function', `${fullName}.${m.originalName ?? name}`);
    }
  }
}

test('chronicle.v1: generated codecs match proto-loader', () => {
  const names: ServiceName[] = ['Containers', 'Tasks', 'Checkpoints', 'Events', 'Daemon', 'History', 'Log'];
  compare('chronicle.proto', Object.fromEntries(names.map((n) => [`chronicle.v1.${n}`, serviceClient(n)])));
});

test('chronicle.shim.v1: generated codecs match proto-loader', () => {
  compare('shim.proto', { 'chronicle.shim.v1.Shim': shimService() });
});
