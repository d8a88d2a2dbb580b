import 'reflect-metadata';

import type { HttpRequest } from '@azure/functions';
import { BadRequestError, NotFoundError, queryOf, queryToObject, validOrThrow } from '@patient-records/platform';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A route id (patient, test). Ids are UUIDs; anything else cannot name a resource, so it is `404`
 * like an unknown id (as the seed's `guid` route constraint answered).
 */
export function routeId(request: HttpRequest, name: string, what: string): string {
  const value = request.params[name];
  if (value === undefined || !uuid.test(value)) throw new NotFoundError(`The ${what} was not found.`);
  return value.toLowerCase();
}

/** The most bytes a patient or test-result body may have. */
export const maxWriteBodyBytes = 64 * 1024;
/** Search criteria are small. */
export const maxSearchBodyBytes = 8 * 1024;

// Printable ASCII but the comma: a header sent twice reaches the app as one value joined by commas.
const idempotencyKeyPattern = /^[\x21-\x2b\x2d-\x7e]{1,128}$/;

/** The `Idempotency-Key` header: printable ASCII except the comma, 1–128 characters. */
export function idempotencyKeyOf(request: HttpRequest): string | undefined {
  const key = request.headers.get('idempotency-key');
  if (key === null) return undefined;
  if (!idempotencyKeyPattern.test(key)) {
    throw new BadRequestError('Idempotency-Key must be 1 to 128 printable ASCII characters, without commas (send it once).', { code: 'invalid_idempotency_key' });
  }
  return key;
}

export const defaultPageSize = 50;
export const maxPageSize = 200;

/** Paging query parameters of listings and search. */
export class PageQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(maxPageSize)
  pageSize?: number;

  @IsOptional()
  @IsString()
  @MaxLength(2048)
  continuationToken?: string;
}

export async function pageQueryOf(request: HttpRequest): Promise<{ pageSize: number; continuationToken?: string }> {
  const query = await validOrThrow(PageQuery, queryToObject(queryOf(request)));
  return {
    pageSize: query.pageSize ?? defaultPageSize,
    ...(query.continuationToken !== undefined ? { continuationToken: query.continuationToken } : {}),
  };
}

/** The response header carrying the token for the next page; absent on the last page. */
export const continuationHeader = 'x-continuation-token';

export function isPagePosition(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 64;
}
