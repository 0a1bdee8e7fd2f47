/**
 * Classifies gRPC failures from a worker: arguments the worker refused will fail the same way again (no retry);
 * transient trouble is retried by BullMQ with backoff.
 */
import { status, type ServiceError } from '@grpc/grpc-js';

export function isGrpcServiceError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && 'code' in err && 'details' in err && 'metadata' in err;
}

const NOT_RETRYABLE = new Set<number>([
  status.INVALID_ARGUMENT,
  status.FAILED_PRECONDITION,
  status.UNIMPLEMENTED,
  status.PERMISSION_DENIED,
  status.OUT_OF_RANGE,
]);

/** True when retrying the same call cannot succeed. */
export function isPermanentGrpcError(err: unknown): boolean {
  return isGrpcServiceError(err) && NOT_RETRYABLE.has(err.code);
}

export function grpcStatusName(code: number): string {
  return (status as unknown as Record<number, string>)[code] ?? `code ${code}`;
}
