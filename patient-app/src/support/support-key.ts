/**
 * The support API's own key. The support functions are `authLevel: 'function'` (the Functions host
 * lets through any host key, the master key and the functions' own keys), and then accept only the
 * support key: SUPPORT_API_KEY, the Key Vault secret `support-api-key` whose value env/ installs as the
 * `support` function key of each support function and APIM's support product sends. The API consumers' key, any other host key and the
 * master key are refused with `401`. See docs/decisions.md, "The support API's own key".
 */
import { timingSafeEqual } from 'node:crypto';

import type { HttpRequest } from '@azure/functions';
import { HttpError, ServiceUnavailableError } from '@patient-records/platform';

export const SUPPORT_KEY_SETTING = 'SUPPORT_API_KEY';

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The key a request presented, as the Functions host reads it: `x-functions-key` header, else `code` query. */
export function presentedKey(request: HttpRequest): string | undefined {
  return request.headers.get('x-functions-key') ?? request.query.get('code') ?? undefined;
}

export interface SupportKeySource {
  get(name: string): Promise<string | undefined>;
  refresh(name: string): Promise<string | undefined>;
}

/** Throws `401 support_key_required` unless the request carries the support key. */
export async function requireSupportKey(request: HttpRequest, source: SupportKeySource): Promise<void> {
  const presented = presentedKey(request);
  let expected = await source.get(SUPPORT_KEY_SETTING);
  if (expected === undefined || expected === '') {
    throw new ServiceUnavailableError('The support API is not configured (SUPPORT_API_KEY is not set).', 60, {
      code: 'support_disabled',
    });
  }
  if (presented !== undefined && same(presented, expected)) return;
  // The key may have been rotated since it was read: read it again once.
  expected = (await source.refresh(SUPPORT_KEY_SETTING)) ?? expected;
  if (presented !== undefined && same(presented, expected)) return;
  // 401, as the host answers a wrong key: APIM's support policy then drops its cached key and reads
  // the current one from Key Vault, which is how a rotation heals.
  throw new HttpError(401, 'support_key_required', 'The support API takes the support key only; this key is not it.');
}
