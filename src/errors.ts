// Stable error codes for the whole core. The core never imports @grpc/grpc-js:
// src/api/status.ts (and the shim's server) map these codes to gRPC statuses.

export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'CONTAINER_NOT_FOUND',
  'CONTAINER_EXISTS',
  'ALREADY_EXISTS',
  'TASK_STATE',
  'FAILED_PRECONDITION',
  'PERMISSION_DENIED',
  'SHIM_UNAVAILABLE',
  'UNAVAILABLE',
  'CHAIN_BROKEN',
  'DEADLINE_EXCEEDED',
  'UNIMPLEMENTED',
  // The runtime tried and failed (a CRIU dump or restore): nothing changed, see its log.
  'RUNTIME_FAILED',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class ChronicleError extends Error {
  override readonly name = 'ChronicleError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isChronicleError(e: unknown): e is ChronicleError {
  return e instanceof ChronicleError;
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Turns a zod error into INVALID_ARGUMENT naming the first bad field (its dotted path). */
export function invalidArgument(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>, prefix = ''): ChronicleError {
  const first = issues[0];
  const path = first ? first.path.map(String).join('.') : '';
  const field = [prefix, path].filter(Boolean).join('.') || '(request)';
  return new ChronicleError('INVALID_ARGUMENT', `invalid ${field}: ${first?.message ?? 'bad value'}`, { field });
}

export function assertNever(x: never): never {
  throw new TypeError(`unexpected value: ${JSON.stringify(x)}`);
}
