/**
 * Field names whose values are patient personal data (the seed's patient model and the search
 * criteria) or secrets. Matching is case-insensitive and ignores `_` and `-`.
 */
export const REDACTED_FIELDS: readonly string[] = [
  // personal data
  'firstName', 'lastName', 'fullName', 'name', 'givenName', 'familyName', 'dateOfBirth', 'dob', 'birthDate',
  'gender', 'sex', 'email', 'emailAddress', 'phone', 'phoneNumber', 'mobile', 'address', 'addressLine1',
  'addressLine2', 'postCode', 'postcode', 'zipCode', 'city', 'town', 'country', 'nhsNumber', 'ssn',
  'insuranceNumber', 'notes', 'observations', 'value', 'results',
  // secrets
  'password', 'secret', 'apiKey', 'key', 'token', 'accessToken', 'authorization', 'cookie',
  'connectionString', 'x-functions-key', 'ocp-apim-subscription-key',
];

const SECRET_NAME = /(key|secret|password|token|authorization|connectionstring|cookie|signature)$/i;
const normalise = (field: string): string => field.toLowerCase().replace(/[-_]/g, '');
const FIELD_SET = new Set(REDACTED_FIELDS.map(normalise));
export const REDACTED = '[redacted]';

/**
 * A copy of `value` safe to log or attach to telemetry: the values of personal-data and secret
 * fields (by name, at any depth) become `[redacted]`, and URLs lose their query and credentials.
 * Use it on anything that might carry a request body, a document or headers; identifiers the
 * server made (patient id, instance id) are not personal data and stay.
 */
export function redact(value: unknown, extraFields: readonly string[] = []): unknown {
  const extra = new Set(extraFields.map(normalise));
  const seen = new WeakSet();
  const walk = (current: unknown, field?: string): unknown => {
    if (field !== undefined && (FIELD_SET.has(normalise(field)) || extra.has(normalise(field)) || SECRET_NAME.test(field))) {
      return current === undefined || current === null ? current : REDACTED;
    }
    if (typeof current === 'string') return /^https?:\/\//i.test(current) ? redactUrl(current) : current;
    if (typeof current !== 'object' || current === null) return current;
    if (seen.has(current)) return '[circular]';
    seen.add(current);
    if (current instanceof Error) return { name: current.name, message: current.message };
    if (Array.isArray(current)) return current.map((item) => walk(item));
    return Object.fromEntries(Object.entries(current).map(([key, item]) => [key, walk(item, key)]));
  };
  return walk(value);
}

/** A URL without its query string, fragment or credentials (function keys travel as `?code=`). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    parsed.hash = '';
    return parsed.toString();
  } catch {
    const cut = url.search(/[?#]/);
    return cut === -1 ? url : url.slice(0, cut);
  }
}
