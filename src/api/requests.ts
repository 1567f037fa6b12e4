// zod schemas of every chronicle.v1 request: the boundary where client input becomes typed.
// ids, paths and sizes are bounded; paths must be absolute and canonical. A bad request is
// INVALID_ARGUMENT naming the field, and nothing is changed.
import { isAbsolute, normalize } from 'node:path';
import * as z from 'zod';
import { invalidArgument } from '../errors.js';
import { Id } from '../events/schemas.js';

const MAX_PATH = 4096;
export const CanonicalPath = z
  .string()
  .max(MAX_PATH, `must be at most ${MAX_PATH} bytes`)
  .refine((p) => isAbsolute(p), 'must be an absolute path')
  .refine((p) => !p.split('/').includes('..') && normalize(p) === p && (p === '/' || !p.endsWith('/')), 'must be a canonical path (no .., //, trailing /)')
  .refine((p) => !p.includes('\0'), 'must not contain NUL');
const OptionalPath = z.union([z.literal(''), CanonicalPath]);

const Arg = z.string().max(4096, 'must be at most 4096 bytes').refine((s) => !s.includes('\0'), 'must not contain NUL');
const Args = z.array(Arg).max(256, 'at most 256 arguments');
const EnvVar = z
  .string()
  .max(32_768, 'must be at most 32 KiB')
  .regex(/^[A-Za-z_][A-Za-z0-9_]*=/, 'must be KEY=VALUE')
  .refine((s) => !s.includes('\0'), 'must not contain NUL');
const Env = z.array(EnvVar).max(512, 'at most 512 variables');
const LabelKey = z
  .string()
  .min(1)
  .max(256, 'label keys are at most 256 bytes')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'label keys are [A-Za-z0-9][A-Za-z0-9._/-]*');
const Labels = z
  .record(LabelKey, z.string().max(4096, 'label values are at most 4096 bytes'))
  .refine((l) => Object.keys(l).length <= 64, 'at most 64 labels')
  .refine((l) => Object.entries(l).reduce((n, [k, v]) => n + k.length + v.length, 0) <= 65_536, 'labels are at most 64 KiB in all');
const Runtime = z.union([z.literal(''), z.enum(['runc', 'process'])]);

export const CreateContainerRequest = z
  .object({
    id: Id,
    runtime: Runtime,
    bundle: OptionalPath,
    rootfs: OptionalPath,
    args: Args,
    env: Env,
    cwd: OptionalPath,
    labels: Labels,
  })
  .superRefine((r, ctx) => {
    if (r.bundle !== '' && r.rootfs !== '') ctx.addIssue({ code: 'custom', path: ['rootfs'], message: 'give a bundle or a rootfs, not both' });
    if (r.runtime !== 'process' && r.bundle === '' && r.rootfs === '' && r.runtime === 'runc')
      ctx.addIssue({ code: 'custom', path: ['rootfs'], message: 'runc needs a bundle or a rootfs' });
    if (r.bundle === '' && r.args.length === 0) ctx.addIssue({ code: 'custom', path: ['args'], message: 'a command is required' });
  });
export type CreateContainerRequest = z.infer<typeof CreateContainerRequest>;

export const GetContainerRequest = z.object({ id: Id });
export const DeleteContainerRequest = z.object({ id: Id });
export const ListContainersRequest = z.object({
  labelFilters: z.array(z.string().min(1).max(4352)).max(64),
});
export const UpdateContainerRequest = z.object({ id: Id, labels: Labels });

export const CreateTaskRequest = z.object({ id: Id, stdin: OptionalPath, stdout: OptionalPath, stderr: OptionalPath });
export const TaskRef = z.object({ id: Id });
export const ListTasksRequest = z.object({});

const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12,
  PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22,
  URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, PWR: 30, SYS: 31,
};
/** "SIGTERM", "TERM", "15" → 15; '' → SIGTERM. */
export const Signal = z
  .string()
  .max(16)
  .transform((s, ctx) => {
    if (s === '') return 15;
    if (/^\d+$/.test(s)) {
      const n = Number(s);
      if (n >= 1 && n <= 64) return n;
    } else {
      const n = SIGNALS[s.toUpperCase().replace(/^SIG/, '')];
      if (n !== undefined) return n;
    }
    ctx.addIssue({ code: 'custom', message: 'unknown signal' });
    return z.NEVER;
  });

export const KillRequest = z.object({ id: Id, signal: Signal, all: z.boolean(), execId: z.union([z.literal(''), Id]) });
export const ExecRequest = z
  .object({ id: Id, execId: Id, args: Args, env: Env, cwd: OptionalPath })
  .refine((r) => r.args.length > 0, { path: ['args'], message: 'a command is required' });
export const WaitRequest = z.object({ id: Id, execId: z.union([z.literal(''), Id]) });
export const DeleteTaskRequest = z.object({ id: Id, force: z.boolean() });
export const LogsRequest = z.object({ id: Id, follow: z.boolean(), stream: z.enum(['', 'stdout', 'stderr']) });
const OptId = z.union([z.literal(''), Id]);
export const CreateCheckpointRequest = z.object({ id: Id, leaveRunning: z.boolean(), name: OptId });
export const ListCheckpointsRequest = z.object({ id: OptId });
export const DeleteCheckpointRequest = z.object({ checkpointId: Id });
export const RestoreRequest = z.object({ checkpointId: Id, id: OptId });
export const SubscribeRequest = z.object({
  fromSeq: z.number().int().nonnegative(),
  fromTime: z.number().int().nonnegative(),
  filters: z.array(z.string().regex(/^(ns|id|type)=[A-Za-z0-9_.-]+$/, 'filters are ns=…, id=… or type=…')).max(32),
  follow: z.boolean(),
});

export const Namespace = Id;

/** Parses `raw` with `schema`, or throws INVALID_ARGUMENT naming the field. */
export function parseRequest<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const r = schema.safeParse(raw);
  if (!r.success) throw invalidArgument(r.error.issues);
  return r.data;
}
