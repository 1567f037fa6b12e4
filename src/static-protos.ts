// grpc-js service definitions over the protobuf codecs generated at build time
// (scripts/proto-codecs.mjs -> dist/src/generated/<name>.cjs), built the way
// @grpc/proto-loader builds them (same conversions, same method names and aliases), without
// parsing .proto files or generating code at run time.
import { makeClientConstructor, type MethodDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';

/** What proto-loader was given for chronicle.v1 and the shim API. */
export const CONVERSION = { longs: Number, enums: String, defaults: true, oneofs: true } as const;

export type Message = Record<string, unknown>;

/** A generated message class: the static half of protobufjs's codec. */
interface MessageCodec {
  fromObject(o: Message): object;
  encode(m: object): { finish(): Uint8Array };
  decode(b: Uint8Array): object;
  toObject(m: object, o: typeof CONVERSION): Message;
}

export interface GeneratedMethod {
  name: string;
  originalName: string;
  requestType: string;
  responseType: string;
  requestStream: boolean;
  responseStream: boolean;
}

export interface GeneratedProtos {
  /** Nested namespaces down to the message classes (chronicle.v1.Container, ...). */
  root: object;
  services: { name: string; methods: GeneratedMethod[] }[];
}

function codecAt(root: object, fullName: string): MessageCodec {
  let o: unknown = root;
  for (const part of fullName.split('.')) o = o !== null && typeof o === 'object' || typeof o === 'function' ? (o as Record<string, unknown>)[part] : undefined;
  if (typeof o !== 'function') throw new TypeError(`generated protos lack ${fullName}`);
  return o as unknown as MessageCodec;
}

function serializer(codec: MessageCodec, name: string): (value: Message) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${name} structure, got array instead`);
    const bytes = codec.encode(codec.fromObject(value)).finish();
    return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(codec: MessageCodec): (bytes: Buffer) => Message {
  return (bytes) => codec.toObject(codec.decode(bytes), CONVERSION);
}

/** The client constructor of each service, by full name (chronicle.v1.Containers). */
export function serviceClients(g: GeneratedProtos): Map<string, ServiceClientConstructor> {
  const clients = new Map<string, ServiceClientConstructor>();
  for (const s of g.services) {
    const def: Record<string, MethodDefinition<Message, Message>> = {};
    for (const m of s.methods) {
      const req = codecAt(g.root, m.requestType);
      const res = codecAt(g.root, m.responseType);
      const method: MethodDefinition<Message, Message> & { originalName: string } = {
        path: `/${s.name}/${m.name}`,
        requestStream: m.requestStream,
        responseStream: m.responseStream,
        requestSerialize: serializer(req, m.requestType),
        requestDeserialize: deserializer(req),
        responseSerialize: serializer(res, m.responseType),
        responseDeserialize: deserializer(res),
        originalName: m.originalName,
      };
      def[m.name] = method;
    }
    clients.set(s.name, makeClientConstructor(def, s.name.split('.').at(-1)!, {}));
  }
  return clients;
}
