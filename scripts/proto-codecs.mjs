// Generates, at build time, static protobuf codecs (protobufjs-cli's static-module target)
// for chronicle.v1 and the shim API, with a table of their services' methods, as
// dist/src/generated/<name>.cjs (src/static-protos.ts turns them into grpc-js services).
// Why: proto-loader parses the .proto text, resolves every type and builds descriptors at
// each start, and protobufjs then generates each message's encoder, decoder and converters
// with new Function() on first use: ~20 + ~20 ms of every CLI command, daemon start and
// shim spawn here, none of it kept by the V8 code cache. Generated code is plain code in
// the bundle, compiled once into the cache.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import camelCase from 'lodash.camelcase';
import protobuf from 'protobufjs';

const PROTOS = { chronicle: 'proto/chronicle.proto', shim: 'proto/shim.proto' };
const OUT = 'dist/src/generated';

/** Every service of a proto file, its methods as proto-loader describes them. */
function servicesOf(file) {
  const root = protobuf.loadSync(file);
  root.resolveAll();
  const services = [];
  const walk = (ns) => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Service) {
        services.push({
          name: o.fullName.slice(1),
          methods: o.methodsArray.map((m) => ({
            name: m.name,
            originalName: camelCase(m.name),
            requestType: m.resolvedRequestType.fullName.slice(1),
            responseType: m.resolvedResponseType.fullName.slice(1),
            requestStream: Boolean(m.requestStream),
            responseStream: Boolean(m.responseStream),
          })),
        });
      } else if (o instanceof protobuf.Namespace) walk(o);
    }
  };
  walk(root);
  return services;
}

mkdirSync(OUT, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'chr-pbjs-'));
try {
  for (const [name, file] of Object.entries(PROTOS)) {
    // pbjs fills in $DEPENDENCY and $OUTPUT; the export holds the codecs and the services.
    const wrapper = join(tmp, `${name}-wrapper.js`);
    writeFileSync(wrapper, `"use strict";\nvar $protobuf = require($DEPENDENCY);\n$OUTPUT;\nmodule.exports = { root: $root, services: ${JSON.stringify(servicesOf(file))} };\n`);
    execFileSync(
      join('node_modules', '.bin', 'pbjs'),
      ['-t', 'static-module', '-w', wrapper, '-r', `chronicle-${name}`, '--no-service', '--no-verify', '--no-delimited', '--no-typeurl', '--no-comments', '-o', join(OUT, `${name}.cjs`), file],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
