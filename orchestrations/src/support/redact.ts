/**
 * Redaction of personal data for support views and exports meant for people.
 *
 * Orchestration history should carry no personal data in clear text (inputs hold sealed payloads
 * and references), but support tools show history, activity results and failure texts written by
 * code that may change. This is the second line of defence: fields that name personal data are
 * replaced, sealed payloads are reduced to the key that sealed them, and long strings are cut.
 */

/** Field names (compared case-insensitively, ignoring `_`/`-`) whose values are personal or medical data. */
export const PERSONAL_DATA_FIELDS: readonly string[] = [
  'firstName',
  'lastName',
  'fullName',
  'name',
  'givenName',
  'familyName',
  'gender',
  'dateOfBirth',
  'dob',
  'birthDate',
  'postCode',
  'postalCode',
  'zip',
  'address',
  'email',
  'phone',
  'telephone',
  'preferredContactNumber',
  'insuranceNumber',
  'nationalId',
  'ssn',
  // Test results: what was measured and by whom is medical data.
  'performer',
  'orderReference',
  'observations',
  'measurement',
  'interpretation',
  // Search criteria name the person searched for.
  'criteria',
  'dateOfBirthFrom',
  'dateOfBirthTo',
];

export const REDACTED = '[redacted]';

const normalise = (key: string): string => key.replace(/[-_]/g, '').toLowerCase();
const personalKeys = new Set(PERSONAL_DATA_FIELDS.map(normalise));

export interface RedactOptions {
  /** Strings longer than this are cut (with a marker). Default 2,000. */
  maxStringLength?: number;
  /** Objects nested deeper than this are replaced. Default 12. */
  maxDepth?: number;
  /** Extra field names to redact. */
  fields?: readonly string[];
}

function isSealedPayload(value: Record<string, unknown>): boolean {
  return typeof value.ciphertext === 'string' && typeof value.alg === 'string';
}

/** A copy of `value` with personal data replaced by `[redacted]`; never mutates its argument. */
export function redactPersonalData(value: unknown, options: RedactOptions = {}): unknown {
  const maxString = options.maxStringLength ?? 2000;
  const maxDepth = options.maxDepth ?? 12;
  const extra = new Set((options.fields ?? []).map(normalise));
  const walk = (item: unknown, depth: number): unknown => {
    if (typeof item === 'string')
      return item.length > maxString
        ? `${item.slice(0, maxString)}… [${item.length - maxString} more characters]`
        : item;
    if (item === null || typeof item !== 'object') return item;
    if (depth >= maxDepth) return '[nested too deep]';
    if (Array.isArray(item)) return item.map((element) => walk(element, depth + 1));
    const record = item as Record<string, unknown>;
    if (isSealedPayload(record)) return { sealed: true, alg: record.alg, keyId: record.keyId };
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(record)) {
      const normalised = normalise(key);
      out[key] = personalKeys.has(normalised) || extra.has(normalised) ? REDACTED : walk(field, depth + 1);
    }
    return out;
  };
  return walk(value, 0);
}
