// The only mapping between chronicle's ErrorCode and gRPC status codes. Record<> makes the
// compiler catch a missing code. The exact ErrorCode rides in the `chronicle-error-code`
// trailer so that clients restore it; anything that is not a ChronicleError is INTERNAL and
// the client gets only a request id.
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { ChronicleError, ERROR_CODES, type ErrorCode } from '../errors.js';

export const toStatus: Record<ErrorCode, Status> = {
  INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
  NOT_FOUND: Status.NOT_FOUND,
  CONTAINER_NOT_FOUND: Status.NOT_FOUND,
  CONTAINER_EXISTS: Status.ALREADY_EXISTS,
  ALREADY_EXISTS: Status.ALREADY_EXISTS,
  TASK_STATE: Status.FAILED_PRECONDITION,
  FAILED_PRECONDITION: Status.FAILED_PRECONDITION,
  PERMISSION_DENIED: Status.PERMISSION_DENIED,
  SHIM_UNAVAILABLE: Status.UNAVAILABLE,
  UNAVAILABLE: Status.UNAVAILABLE,
  CHAIN_BROKEN: Status.DATA_LOSS,
  DEADLINE_EXCEEDED: Status.DEADLINE_EXCEEDED,
  UNIMPLEMENTED: Status.UNIMPLEMENTED,
  RUNTIME_FAILED: Status.ABORTED,
  INTERNAL: Status.INTERNAL,
};

const fromStatus: Partial<Record<Status, ErrorCode>> = {
  [Status.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [Status.NOT_FOUND]: 'NOT_FOUND',
  [Status.ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [Status.FAILED_PRECONDITION]: 'FAILED_PRECONDITION',
  [Status.PERMISSION_DENIED]: 'PERMISSION_DENIED',
  [Status.UNAVAILABLE]: 'UNAVAILABLE',
  [Status.CANCELLED]: 'UNAVAILABLE',
  [Status.DATA_LOSS]: 'CHAIN_BROKEN',
  [Status.DEADLINE_EXCEEDED]: 'DEADLINE_EXCEEDED',
  [Status.UNIMPLEMENTED]: 'UNIMPLEMENTED',
  [Status.ABORTED]: 'RUNTIME_FAILED',
};

export const CODE_TRAILER = 'chronicle-error-code';
export const FIELD_TRAILER = 'chronicle-error-field';

/** A ChronicleError as a gRPC ServiceError (with its code and field in the trailers). */
export function toServiceError(e: ChronicleError): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set(CODE_TRAILER, e.code);
  const field = e.details['field'];
  if (typeof field === 'string') metadata.set(FIELD_TRAILER, field);
  return { code: toStatus[e.code], details: e.message, metadata };
}

function isServiceError(e: unknown): e is ServiceError {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e).code === 'number';
}

/** A gRPC client error back as a ChronicleError. */
export function fromServiceError(e: unknown): ChronicleError {
  if (!isServiceError(e)) return new ChronicleError('INTERNAL', e instanceof Error ? e.message : String(e));
  const raw = e.metadata?.get(CODE_TRAILER)[0];
  const code = typeof raw === 'string' && (ERROR_CODES as readonly string[]).includes(raw) ? (raw as ErrorCode) : (fromStatus[e.code] ?? 'INTERNAL');
  const field = e.metadata?.get(FIELD_TRAILER)[0];
  return new ChronicleError(code, e.details || e.message, { grpcCode: e.code, ...(typeof field === 'string' ? { field } : {}) }, { cause: e });
}
