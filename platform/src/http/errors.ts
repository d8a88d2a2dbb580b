/**
 * The errors a handler throws to answer with a 4xx or 503. `handle()` turns each into the one error
 * body shape, `{ "error": { "code", "message", "details"? } }`; anything else becomes a generic 500.
 * Messages are shown to callers: they say what is wrong with the request, never how the server is
 * built, and never echo submitted values.
 */
export class HttpError extends Error {
  constructor(
    /** The HTTP status code of the answer. */
    readonly status: number,
    /** A stable, machine-readable code (snake_case) that callers can branch on. */
    readonly code: string,
    message: string,
    /** Structured detail for the caller, e.g. the failing fields of a validation error. */
    readonly details?: unknown,
    /** Extra response headers, e.g. `Retry-After`. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** One failing field of a request: its path (`actor.system`, `items[2].code`) and every message. */
export interface FieldError {
  field: string;
  messages: string[];
}

interface ErrorOptions {
  code?: string;
  details?: unknown;
}

/** 400: the request is malformed (not JSON, a broken continuation token, a missing body). */
export class BadRequestError extends HttpError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(400, options.code ?? 'bad_request', message, options.details);
  }
}

/** 400: the request is well-formed but fields fail validation; `details` lists every failing field. */
export class ValidationError extends HttpError {
  constructor(
    readonly fields: FieldError[],
    message = 'The request has invalid fields.',
  ) {
    super(400, 'validation_failed', message, fields);
  }
}

/** 404: the addressed resource does not exist. */
export class NotFoundError extends HttpError {
  constructor(message = 'The resource was not found.', options: ErrorOptions = {}) {
    super(404, options.code ?? 'not_found', message, options.details);
  }
}

/** 409: the request conflicts with the current state of the resource. */
export class ConflictError extends HttpError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(409, options.code ?? 'conflict', message, options.details);
  }
}

/** 412: an `If-Match` (or other precondition) does not hold any more. */
export class PreconditionFailedError extends HttpError {
  constructor(message = 'The resource has changed since it was read.', options: ErrorOptions = {}) {
    super(412, options.code ?? 'precondition_failed', message, options.details);
  }
}

/** 413: the body is larger than the route accepts; detected before the body is parsed. */
export class PayloadTooLargeError extends HttpError {
  constructor(readonly limitBytes: number) {
    super(413, 'payload_too_large', `The request body is larger than ${limitBytes} bytes.`, { limitBytes });
  }
}

/** 415: the body is not sent as the content type the route accepts. */
export class UnsupportedMediaTypeError extends HttpError {
  constructor(expected = 'application/json') {
    super(415, 'unsupported_media_type', `The request body must be sent as ${expected}.`, { expected });
  }
}

/** 422: the request is valid on its own but cannot be applied, e.g. an idempotency key reused with another body. */
export class UnprocessableEntityError extends HttpError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(422, options.code ?? 'unprocessable_entity', message, options.details);
  }
}

/** 503: a dependency (the data store, another service) is unreachable; the caller may retry later. */
export class ServiceUnavailableError extends HttpError {
  constructor(
    message = 'A service this request needs is unavailable; retry later.',
    readonly retryAfterSeconds = 5,
    options: ErrorOptions & { cause?: unknown } = {},
  ) {
    super(503, options.code ?? 'service_unavailable', message, options.details, {
      'Retry-After': String(retryAfterSeconds),
    });
    if (options.cause !== undefined) this.cause = options.cause;
  }
}
