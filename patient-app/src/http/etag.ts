/** The ETag of a version: a strong validator, the version number quoted. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * What an `If-Match` header asks for: absent (unconditional), `*` (any current version), or one
 * version. Several ETags, weak ones and anything unparsable can never match a current version, so
 * they are `stale` (412), not a 400: the request is well-formed HTTP.
 */
export type IfMatch = { kind: 'none' } | { kind: 'any' } | { kind: 'version'; version: number } | { kind: 'stale' };

export function parseIfMatch(header: string | null): IfMatch {
  if (header === null || header.trim() === '') return { kind: 'none' };
  const value = header.trim();
  if (value === '*') return { kind: 'any' };
  const match = /^"([1-9]\d{0,9})"$/.exec(value);
  if (!match?.[1]) return { kind: 'stale' };
  return { kind: 'version', version: Number(match[1]) };
}
