// zod schemas of the containerd requests the facade accepts, in proto-loader's keepCase
// shapes (unset messages are null, maps are objects, bytes are Buffers). A bad field is
// INVALID_ARGUMENT naming it, before anything is locked or changed.
import * as z from 'zod';
import { ChronicleError, invalidArgument } from '../../errors.js';
import { Id } from '../../events/schemas.js';
import { CanonicalPath, parseRequest } from '../requests.js';
import { readFields } from './wire.js';

export const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';
export const PROCESS_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process';

const OptId = z.union([z.literal(''), Id]);
/** A stdio path from the client ('' for none): ctr's FIFOs, or a file. */
const StdioPath = z.union([z.literal(''), CanonicalPath]);
const NoTerminal = z.boolean().refine((t) => !t, 'terminals are not supported by chronicle: run without -t');

export const AnyMessage = z.object({ type_url: z.string().max(1024), value: z.instanceof(Buffer) });
export type AnyMessage = z.infer<typeof AnyMessage>;

const LabelsShape = z
  .record(
    z.string().min(1).max(256).refine((k) => !k.includes('\0'), 'must not contain NUL'),
    z.string().max(4096).refine((v) => !v.includes('\0'), 'must not contain NUL'),
  )
  .refine((l) => Object.keys(l).length <= 64, 'at most 64 labels');
export const Labels = LabelsShape;

const Str = z.string().max(4096).refine((s) => !s.includes('\0'), 'must not contain NUL');

/** The parts of an OCI spec the daemon reads; everything else is kept as it came. */
export const OciSpec = z.looseObject({
  root: z.looseObject({ path: CanonicalPath }),
  process: z
    .looseObject({
      args: z.array(Str).max(256).default([]),
      env: z.array(Str.regex(/^[A-Za-z_][A-Za-z0-9_]*=/, 'must be KEY=VALUE')).max(512).default([]),
      cwd: z.union([z.literal(''), CanonicalPath]).default('/'),
      terminal: NoTerminal.default(false),
    })
    .optional(),
  linux: z.looseObject({ cgroupsPath: z.string().optional() }).optional(),
});
export type OciSpec = z.infer<typeof OciSpec>;

export const OciProcess = z.looseObject({
  args: z.array(Str).min(1, 'a command is required').max(256),
  env: z.array(Str.regex(/^[A-Za-z_][A-Za-z0-9_]*=/, 'must be KEY=VALUE')).max(512).default([]),
  cwd: z.union([z.literal(''), CanonicalPath]).default(''),
  terminal: NoTerminal.default(false),
});

export const ContainerMessage = z.object({
  id: Id,
  labels: Labels,
  image: Str,
  runtime: z.object({ name: z.string().max(256), options: AnyMessage.nullable() }).nullable(),
  spec: AnyMessage.nullable(),
  snapshotter: z.string().max(256),
  snapshot_key: Str,
});

export const CreateContainerRequest = z.object({ container: ContainerMessage });
export const UpdateContainerRequest = z.object({
  container: ContainerMessage,
  update_mask: z.object({ paths: z.array(z.string().max(512)).max(64) }).nullable(),
});
export const IdRequest = z.object({ id: Id });
export const FiltersRequest = z.object({ filters: z.array(z.string().max(4096)).max(64) });

export const CreateTaskRequest = z.object({
  container_id: Id,
  rootfs: z.array(z.unknown()).max(0, 'rootfs mounts are not supported: give the spec a root path (ctr --rootfs)'),
  stdin: StdioPath,
  stdout: StdioPath,
  stderr: StdioPath,
  terminal: NoTerminal,
  checkpoint: z.null({ message: 'restoring from a checkpoint through the containerd API is not supported yet' }),
});
export const ProcessRef = z.object({ container_id: Id, exec_id: OptId });
export const ContainerRef = z.object({ container_id: Id });
export const KillRequest = z.object({ container_id: Id, exec_id: OptId, signal: z.number().int().min(0).max(64), all: z.boolean() });
export const ExecRequest = z.object({
  container_id: Id,
  exec_id: Id,
  stdin: StdioPath,
  stdout: StdioPath,
  stderr: StdioPath,
  terminal: NoTerminal,
  spec: AnyMessage.nullable().refine((a) => a !== null, 'the process spec is required'),
});
export const CheckpointRequest = z.object({ container_id: Id, parent_checkpoint: z.string().max(256), options: AnyMessage.nullable() });
export const CHECKPOINT_OPTIONS_TYPE_URL = 'containerd.runc.v1.CheckpointOptions';

/** containerd.runc.v1.CheckpointOptions as ctr sends it: 1 exit, 8 image_path, 9 work_path. */
export function checkpointOptions(a: AnyMessage | null): { exit: boolean; imagePath: string; workPath: string } {
  if (!a) return { exit: false, imagePath: '', workPath: '' };
  if (a.type_url !== CHECKPOINT_OPTIONS_TYPE_URL) throw new ChronicleError('INVALID_ARGUMENT', `invalid options.type_url: must be ${CHECKPOINT_OPTIONS_TYPE_URL}`, { field: 'options.type_url' });
  let fields;
  try {
    fields = readFields(a.value);
  } catch (e) {
    throw new ChronicleError('INVALID_ARGUMENT', `invalid options: ${e instanceof Error ? e.message : String(e)}`, { field: 'options' });
  }
  const str = (n: number): string => {
    const v = fields.get(n)?.at(-1);
    return Buffer.isBuffer(v) ? v.toString('utf8') : '';
  };
  const raw = { exit: fields.get(1)?.at(-1) === 1n, imagePath: str(8), workPath: str(9) };
  const OptPath = z.union([z.literal(''), CanonicalPath]);
  const r = z.object({ exit: z.boolean(), imagePath: OptPath, workPath: OptPath }).safeParse(raw);
  if (!r.success) throw invalidArgument(r.error.issues, 'options');
  return r.data;
}

export const CloseIORequest = z.object({ container_id: Id, exec_id: OptId, stdin: z.boolean() });

export const NamespaceMessage = z.object({ name: Id, labels: Labels });

/** parseRequest, plus the chronicle id the lock and the audit record are filed under. */
export function withId<S extends z.ZodType<{ container_id: string }>>(schema: S): (raw: unknown) => z.infer<S> & { id: string } {
  return (raw) => {
    const r = parseRequest(schema, raw);
    return { ...r, id: r.container_id };
  };
}

/** The raw request with the id to file its audit record under (auditId reads `id`). */
export function rawWithId(raw: unknown, key: string): { id: unknown } {
  const o = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  return { ...o, id: o[key] };
}

/** JSON in an Any, parsed with a schema; INVALID_ARGUMENT names the field. */
export function anyJson<S extends z.ZodType>(schema: S, a: AnyMessage, typeUrl: string, field: string): z.infer<S> {
  if (a.type_url !== typeUrl) throw new ChronicleError('INVALID_ARGUMENT', `invalid ${field}.type_url: must be ${typeUrl}`, { field: `${field}.type_url` });
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(a.value).toString('utf8'));
  } catch {
    throw new ChronicleError('INVALID_ARGUMENT', `invalid ${field}: not JSON`, { field });
  }
  const r = schema.safeParse(json);
  if (!r.success) throw invalidArgument(r.error.issues, field);
  return r.data;
}
