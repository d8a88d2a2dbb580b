import type { HttpResponseInit } from '@azure/functions';

import type { HttpError } from './errors';

/** The one error body shape every route answers with. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** A JSON answer. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers } };
}

/** `200` with a JSON body. */
export function ok(body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return json(200, body, headers);
}

/** `201` with a JSON body and, when given, the `Location` of the new resource. */
export function created(body: unknown, location?: string, headers: Record<string, string> = {}): HttpResponseInit {
  return json(201, body, location === undefined ? headers : { ...headers, Location: location });
}

/** `204` without a body. */
export function noContent(headers: Record<string, string> = {}): HttpResponseInit {
  return { status: 204, headers };
}

/** The answer for a known error: its status, the error body and its headers. */
export function errorResponse(error: HttpError): HttpResponseInit {
  return json(error.status, errorBody(error.code, error.message, error.details), { ...error.headers });
}

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}
