/** The one way the API answers with an error: `{ error: { code, message[, issues] } }` and the code's HTTP status. */
import type { FastifyReply } from 'fastify';
import { ControlPlaneError, type ErrorCode } from '../errors.js';

export function errorBody(err: ControlPlaneError): {
  error: { code: ErrorCode; message: string; issues?: ControlPlaneError['issues'] };
} {
  return { error: { code: err.code, message: err.message, ...(err.issues.length ? { issues: err.issues } : {}) } };
}

export function sendError(reply: FastifyReply, err: ControlPlaneError): FastifyReply {
  return reply.status(err.httpStatus).send(errorBody(err));
}

/** Maps an error Fastify raised itself (parsing, limits, routing) to a registered code with its status. */
export function fromFastifyError(err: { statusCode?: number; code?: string; message: string }): ControlPlaneError {
  const status = err.statusCode ?? 500;
  const code: ErrorCode =
    status === 413
      ? 'CP_ERR_API_BODY_TOO_LARGE'
      : status === 415
        ? 'CP_ERR_API_MEDIA_TYPE'
        : status === 404
          ? 'CP_ERR_API_NOT_FOUND'
          : status < 500
            ? 'CP_ERR_API_REQUEST'
            : 'CP_ERR_INTERNAL';
  const message =
    code === 'CP_ERR_API_BODY_TOO_LARGE'
      ? `${err.message} (send less, or raise the limit with BSLORA_BODY_LIMIT)`
      : err.message;
  return new ControlPlaneError(code, message);
}
