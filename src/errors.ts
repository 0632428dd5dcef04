// Named errors with an HTTP status. One translator (middlewares/errorHandler.ts) turns them into
// responses; anything else becomes a generic 500 with no internals.

export interface FieldProblem {
  field: string;
  message: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: FieldProblem[],
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, fields?: FieldProblem[]) => new HttpError(400, 'bad_request', message, fields);
export const validationFailed = (fields: FieldProblem[]) =>
  new HttpError(400, 'validation_failed', fields.map((f) => `${f.field}: ${f.message}`).join('; '), fields);
export const unauthorized = (message = 'Your session has expired. Launch the tool again from your course.') =>
  new HttpError(401, 'unauthorized', message);
export const forbidden = (message = 'You do not have access to this page.') => new HttpError(403, 'forbidden', message);
export const notFound = (message = 'Not found.') => new HttpError(404, 'not_found', message);
export const conflict = (message: string, details?: Record<string, unknown>) => new HttpError(409, 'conflict', message, undefined, details);
export const payloadTooLarge = (message = 'The request is too large.') => new HttpError(413, 'payload_too_large', message);
