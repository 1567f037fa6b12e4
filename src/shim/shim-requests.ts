// zod schemas of chronicle.shim.v1 requests: no input reaches a runtime unchecked.
import { isAbsolute } from 'node:path';
import * as z from 'zod';
import { Id } from '../events/schemas.js';

// A NUL byte would make spawn() throw: no string handed to a process may hold one.
const NoNul = z.string().refine((s) => !s.includes('\0'), 'must not contain NUL');
const Abs = NoNul.max(4096).refine((p) => isAbsolute(p) && !p.split('/').includes('..'), 'must be an absolute path without ..');
const OptAbs = z.union([z.literal(''), Abs]);
const OptId = z.union([z.literal(''), Id]);
const Args = z.array(NoNul.max(4096)).max(256);
const Env = z.array(NoNul.max(32_768).regex(/^[A-Za-z_][A-Za-z0-9_]*=/, 'must be KEY=VALUE')).max(512);

export const CreateRequest = z.object({
  id: Id,
  bundle: Abs,
  runtime: z.enum(['runc', 'process']),
  args: Args,
  env: Env,
  cwd: OptAbs,
  stdout: OptAbs,
  stderr: OptAbs,
  runtimeBinary: z.union([z.literal(''), Abs, z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a command name or an absolute path')]),
  runcRoot: OptAbs,
  // Optional for clients that predate it (proto3 sends '' anyway).
  stdin: OptAbs.default(''),
});
const Binary = z.union([z.literal(''), Abs, z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a command name or an absolute path')]);
export const CheckpointRequest = z.object({ id: Id, imagePath: Abs, workPath: Abs, leaveRunning: z.boolean(), criu: Binary.refine((s) => s !== '', 'a CRIU binary is required') });
export const RestoreRequest = z.object({
  id: Id,
  bundle: Abs,
  imagePath: Abs,
  workPath: Abs,
  stdout: OptAbs,
  stderr: OptAbs,
  criu: Binary.refine((s) => s !== '', 'a CRIU binary is required'),
  runtimeBinary: Binary,
  runcRoot: OptAbs,
});
export const IdRequest = z.object({ id: Id, execId: OptId });
export const KillRequest = z.object({ id: Id, signal: z.number().int().min(1).max(64), all: z.boolean(), execId: OptId });
export const ExecRequest = z.object({ id: Id, execId: Id, args: Args.min(1, 'a command is required'), env: Env, cwd: OptAbs, stdin: OptAbs.default(''), stdout: OptAbs.default(''), stderr: OptAbs.default('') });
export const ShutdownRequest = z.object({ force: z.boolean() });
export const EventsRequest = z.object({ after: z.number().int().nonnegative() });
export const LogsRequest = z.object({ id: Id, execId: OptId, follow: z.boolean(), stream: z.enum(['', 'stdout', 'stderr']) });
