export { DEFAULT_MAX_BODY_BYTES, isJsonContentType, readJsonBody, type ReadJsonOptions } from './body';
export { ContinuationTokens } from './continuation';
export {
  BadRequestError,
  ConflictError,
  type FieldError,
  HttpError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  ServiceUnavailableError,
  UnprocessableEntityError,
  UnsupportedMediaTypeError,
  ValidationError,
} from './errors';
export { handle, toErrorResponse } from './handle';
export { isCalendarDate, IsStorableIsoDate } from './iso-date';
export { created, type ErrorBody, errorBody, errorResponse, json, noContent, ok } from './responses';
export { FUNCTION_KEY_QUERY_PARAMETER, IsOptionalNotNull, MAX_REPORTED_FIELDS, queryOf, queryToObject, validateInput, type ValidationResult, validOrThrow } from './validation';
