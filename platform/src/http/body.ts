import type { HttpRequest } from '@azure/functions';

import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors';

/** Default body limit for JSON routes: generous for a record, small enough to refuse abuse cheaply. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export interface ReadJsonOptions {
  /** The largest body the route accepts, in bytes; checked before anything is parsed. */
  maxBytes?: number;
}

// Keys that would change an object's prototype when copied onto a class instance.
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

// A UTF-16 surrogate not paired with its other half: JSON's `\ud800` escape makes one, UTF-8 cannot
// carry it, so the stores and every encoder on the way would silently turn it into U+FFFD.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Reads a JSON request body, checking in this order: declared size (`413`), content type (`415`),
 * actual size while reading (`413`, never buffering more than the limit), an empty body (`400
 * body_required`), then UTF-8 and JSON syntax (`400 invalid_json`). Keys that could swap an object's
 * prototype (`__proto__`, `constructor`, `prototype`) are refused, so later copying is safe, and so
 * are strings and keys with a lone surrogate (`"\ud800"`), which could not be stored as sent.
 */
export async function readJsonBody(request: HttpRequest, options: ReadJsonOptions = {}): Promise<unknown> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BODY_BYTES;
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw new PayloadTooLargeError(maxBytes);

  const contentType = request.headers.get('content-type');
  if (contentType !== null && !isJsonContentType(contentType)) throw new UnsupportedMediaTypeError();
  const bytes = await readLimited(request, maxBytes);
  if (bytes.length === 0) throw new BadRequestError('A JSON request body is required.', { code: 'body_required' });
  if (contentType === null) throw new UnsupportedMediaTypeError();

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BadRequestError('The request body is not valid UTF-8.', { code: 'invalid_json' });
  }
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKeyError(key);
      if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))) throw new LoneSurrogateError();
      return value;
    });
  } catch (error) {
    if (error instanceof ForbiddenKeyError) {
      throw new BadRequestError(`The request body must not contain the key "${error.key}".`, { code: 'invalid_json' });
    }
    if (error instanceof LoneSurrogateError) {
      throw new BadRequestError('The request body has a string with an unpaired UTF-16 surrogate (a \\uD800-\\uDFFF escape without its pair).', { code: 'invalid_json' });
    }
    throw new BadRequestError('The request body is not valid JSON.', { code: 'invalid_json' });
  }
}

/** `application/json` or a `+json` media type, with any parameters (charset). */
export function isJsonContentType(value: string): boolean {
  const mediaType = value.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || (mediaType.startsWith('application/') && mediaType.endsWith('+json'));
}

class ForbiddenKeyError extends Error {
  constructor(readonly key: string) {
    super(key);
  }
}

class LoneSurrogateError extends Error {}

async function readLimited(request: HttpRequest, maxBytes: number): Promise<Uint8Array> {
  const body = request.body;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
    if (done) break;
    if (value === undefined) continue;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new PayloadTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}
