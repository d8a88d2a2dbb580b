import 'reflect-metadata';

import type { HttpRequest } from '@azure/functions';
import type { ClassConstructor } from 'class-transformer';
import { plainToInstance } from 'class-transformer';
import { validate, ValidateIf, type ValidationError as ClassValidationError, type ValidatorOptions } from 'class-validator';

import { FORBIDDEN_KEYS } from './body';
import { type FieldError, ValidationError } from './errors';

/** The outcome of validating input against a DTO class: the typed instance, or every failing field. */
export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

const VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: false },
};

/**
 * The most failing fields an answer lists. A 64 KiB body of empty objects or unknown keys fails in
 * tens of thousands of places; listing them all would answer with megabytes.
 */
export const MAX_REPORTED_FIELDS = 100;

/**
 * Validates plain input (a parsed body, query parameters) against a class-validator DTO. Unknown
 * fields are errors, nested DTOs (`@ValidateNested` + `@Type`) are checked field by field, and every
 * failing field is reported with every message, by its path (`actor.system`, `items[2].code`), up to
 * `MAX_REPORTED_FIELDS`; beyond that, one last entry (field `""`) says how many more failed.
 */
export async function validateInput<T extends object>(type: ClassConstructor<T>, input: unknown): Promise<ValidationResult<T>> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: '', messages: ['the input must be a JSON object'] }] };
  }
  const instance = plainToInstance(type, input, { exposeDefaultValues: true });
  const errors = await validate(instance, VALIDATOR_OPTIONS);
  if (errors.length === 0) return { ok: true, value: instance };
  const fields = flatten(errors, '');
  if (fields.length <= MAX_REPORTED_FIELDS) return { ok: false, errors: fields };
  const more = fields.length - MAX_REPORTED_FIELDS;
  return { ok: false, errors: [...fields.slice(0, MAX_REPORTED_FIELDS), { field: '', messages: [`${more} more invalid fields are not listed`] }] };
}

/** Like `validateInput`, but throws the `400` `ValidationError` that `handle()` answers with. */
export async function validOrThrow<T extends object>(type: ClassConstructor<T>, input: unknown): Promise<T> {
  const result = await validateInput(type, input);
  if (!result.ok) throw new ValidationError(result.errors);
  return result.value;
}

/**
 * A field that may be left out, but is validated like any other when present, `null` included.
 * class-validator's `IsOptional` skips `null` too, so a `"lastName": null` would pass `IsString` and
 * reach the store as `null`; a DTO field that means "a string or nothing" uses this instead.
 */
export function IsOptionalNotNull(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}

/** The query parameter that carries a Functions key (`?code=`); the host checks it, not the handler. */
export const FUNCTION_KEY_QUERY_PARAMETER = 'code';

/**
 * The query string exactly as the caller sent it, from the request's URL. `request.query` is built
 * from the host's name-to-value map, which joins a repeated parameter into one comma-separated value
 * and loses a parameter named `__proto__` (assigned onto a plain object), so a check on it could not
 * see either.
 */
export function queryOf(request: HttpRequest): URLSearchParams {
  return new URL(request.url).searchParams;
}

/**
 * Query parameters as a plain object for `validateInput`. A parameter given more than once becomes an
 * array, so a DTO expecting a string reports it instead of silently using the first value. The
 * Functions key parameter (`code`) is left out: it is the host's, and unknown-field checks must not
 * refuse a caller who authenticates that way. A parameter named like a prototype key (`__proto__`,
 * `constructor`, `prototype`) is refused as an unknown field: assigned to an object it would be
 * dropped silently or swap the object's prototype, so the DTO would never see it.
 */
export function queryToObject(query: URLSearchParams): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  const refused = [...new Set(query.keys())].filter((key) => FORBIDDEN_KEYS.has(key));
  if (refused.length > 0) throw new ValidationError(refused.map((field) => ({ field, messages: [`property ${field} should not exist`] })));
  for (const key of new Set(query.keys())) {
    if (key === FUNCTION_KEY_QUERY_PARAMETER) continue;
    const values = query.getAll(key);
    result[key] = values.length === 1 ? (values[0] ?? '') : values;
  }
  return result;
}

function flatten(errors: ClassValidationError[], parent: string): FieldError[] {
  const result: FieldError[] = [];
  for (const error of errors) {
    const field = joinPath(parent, error.property);
    const messages = Object.values(error.constraints ?? {}).map((message) => qualify(message, error.property, field));
    if (messages.length > 0) result.push({ field, messages });
    // Not push(...children): a spread of ~100k failing fields (a 64 KiB array of empty objects) overflows the stack.
    if (error.children && error.children.length > 0) for (const child of flatten(error.children, field)) result.push(child);
  }
  return result;
}

function joinPath(parent: string, property: string): string {
  if (/^\d+$/.test(property)) return `${parent}[${property}]`;
  return parent === '' ? property : `${parent}.${property}`;
}

// class-validator starts messages with the bare property name; show the full path instead.
function qualify(message: string, property: string, field: string): string {
  if (property === field) return message;
  if (message.startsWith(`property ${property} `)) return `property ${field} ${message.slice(`property ${property} `.length)}`;
  if (message.startsWith(`${property} `)) return `${field} ${message.slice(property.length + 1)}`;
  return message;
}
