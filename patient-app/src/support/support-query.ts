/** Query parameters and bodies of the support API, checked with field-level messages. */
import {
  SUPPORT_STATUSES,
  type SupportStatus,
  WRITE_KINDS,
  WRITE_OUTCOMES,
  type WriteKind,
  type WriteOutcomeClass,
} from '@patient-records/orchestrations';
import { type FieldError, FUNCTION_KEY_QUERY_PARAMETER, isCalendarDate, ValidationError } from '@patient-records/platform';

import type { WriteFilter } from './write-summary';

export const DEFAULT_RANGE_MS = 24 * 60 * 60 * 1000;
export const MAX_RANGE_MS = 31 * DEFAULT_RANGE_MS;
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

export interface ListQuery {
  filter: WriteFilter;
  from: Date;
  to: Date;
  pageSize: number;
  continuationToken?: string;
  /**
   * The bounds the caller gave (ISO); an absent one is a default that moves with the clock. A
   * continuation token is valid for the same filter and the same given bounds, and carries the
   * first page's range, so paging a default range works.
   */
  given: { from?: string; to?: string };
}

/** Every parameter the list (and purge-many) query takes; support-openapi.yaml documents these. */
export const LIST_QUERY_PARAMETERS = [
  'status',
  'outcome',
  'kind',
  'from',
  'to',
  'operationId',
  'patientId',
  'instanceId',
  'pageSize',
  'continuationToken',
] as const;

const KNOWN: ReadonlySet<string> = new Set(LIST_QUERY_PARAMETERS);

function list<T extends string>(
  raw: string | null,
  allowed: readonly T[],
  name: string,
  errors: FieldError[],
): T[] | undefined {
  if (raw === null || raw.trim() === '') return undefined;
  const values = raw
    .split(',')
    .map((value) => value.trim())
    .filter((value) => value !== '');
  const unknown = values.filter((value) => !(allowed as readonly string[]).includes(value));
  if (unknown.length > 0)
    errors.push({
      field: name,
      messages: [`${name} must be a comma-separated list of: ${allowed.join(', ')} (unknown: ${unknown.join(', ')})`],
    });
  return values as T[];
}

function time(raw: string | null, name: string, errors: FieldError[]): Date | undefined {
  if (raw === null || raw.trim() === '') return undefined;
  const date = new Date(raw);
  // Date reads a day the month lacks (2026-02-30) as a day of the next month.
  if (Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(raw) || !isCalendarDate(raw)) {
    errors.push({ field: name, messages: [`${name} must be an ISO 8601 date and time, e.g. 2026-12-02T10:00:00Z`] });
    return undefined;
  }
  return date;
}

function id(raw: string | null, name: string, errors: FieldError[]): string | undefined {
  if (raw === null || raw === '') return undefined;
  if (!ID.test(raw))
    errors.push({ field: name, messages: [`${name} must be an id (letters, digits and _ . : -, at most 128)`] });
  return raw;
}

/**
 * Reads the list query, given as sent (`queryOf(request)`, not `request.query`, which joins a repeated
 * parameter with commas and loses one named `__proto__`); `now` is the default end of the range. A
 * parameter given twice is refused rather than one of its values silently used: lists are
 * comma-separated in one parameter.
 */
export function readListQuery(query: URLSearchParams, now: Date): ListQuery {
  const errors: FieldError[] = [];
  for (const key of new Set(query.keys())) {
    if (key === FUNCTION_KEY_QUERY_PARAMETER) continue;
    if (!KNOWN.has(key)) errors.push({ field: key, messages: [`${key} is not a known parameter`] });
    else if (query.getAll(key).length > 1)
      errors.push({ field: key, messages: [`${key} must be given once (a list is comma-separated: ${key}=a,b)`] });
  }
  const filter: WriteFilter = {};
  const statuses = list<SupportStatus>(query.get('status'), SUPPORT_STATUSES, 'status', errors);
  if (statuses) filter.statuses = statuses;
  const outcomes = list<WriteOutcomeClass>(query.get('outcome'), WRITE_OUTCOMES, 'outcome', errors);
  if (outcomes) filter.outcomes = outcomes;
  const kinds = list<WriteKind>(query.get('kind'), WRITE_KINDS, 'kind', errors);
  if (kinds) filter.kinds = kinds;
  const operationId = id(query.get('operationId'), 'operationId', errors);
  if (operationId !== undefined) filter.operationId = operationId;
  const patientId = id(query.get('patientId'), 'patientId', errors);
  if (patientId !== undefined) filter.patientId = patientId;
  const instanceId = id(query.get('instanceId'), 'instanceId', errors);
  if (instanceId !== undefined) filter.instanceId = instanceId;
  const givenTo = time(query.get('to'), 'to', errors);
  const givenFrom = time(query.get('from'), 'from', errors);
  const to = givenTo ?? now;
  const from = givenFrom ?? new Date(to.getTime() - DEFAULT_RANGE_MS);
  if (from.getTime() >= to.getTime()) errors.push({ field: 'from', messages: ['from must be before to'] });
  else if (to.getTime() - from.getTime() > MAX_RANGE_MS)
    errors.push({ field: 'from', messages: ['the range from..to may span at most 31 days'] });
  let pageSize = DEFAULT_PAGE_SIZE;
  const rawSize = query.get('pageSize');
  if (rawSize !== null) {
    pageSize = Number(rawSize);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE)
      errors.push({ field: 'pageSize', messages: [`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}`] });
  }
  if (errors.length > 0) throw new ValidationError(errors);
  const given: ListQuery['given'] = {};
  if (givenFrom !== undefined) given.from = givenFrom.toISOString();
  if (givenTo !== undefined) given.to = givenTo.toISOString();
  const result: ListQuery = { filter, from, to, pageSize, given };
  const token = query.get('continuationToken');
  if (token !== null && token !== '') result.continuationToken = token;
  return result;
}

/** A support action's reason: required, short, and not a place for personal data. */
export const MAX_REASON_LENGTH = 256;

export function readReason(body: unknown): string {
  const reason = typeof body === 'object' && body !== null ? (body as { reason?: unknown }).reason : undefined;
  if (typeof reason !== 'string' || reason.trim().length < 3) {
    throw new ValidationError([
      { field: 'reason', messages: ['reason is required: say why (at least 3 characters, no personal data)'] },
    ]);
  }
  if (reason.length > MAX_REASON_LENGTH)
    throw new ValidationError([
      { field: 'reason', messages: [`reason must be at most ${MAX_REASON_LENGTH} characters`] },
    ]);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(reason))
    throw new ValidationError([{ field: 'reason', messages: ['reason must be one line of text'] }]);
  return reason.trim();
}

/** An instance id from the route: what the Durable API accepts, nothing else. */
export function isInstanceId(value: string | undefined): value is string {
  return value !== undefined && ID.test(value);
}
