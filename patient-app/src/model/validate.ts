import 'reflect-metadata';

import { type ClassConstructor, plainToInstance } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';

/** One failing field: its path (`observations.0.issued`) and what is wrong with it. */
export interface FieldError {
  field: string;
  messages: string[];
}

export type Validated<T> = { ok: true; value: T } | { ok: false; message: string; details: FieldError[] };

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    if (error.constraints) {
      out.push({
        field,
        messages: Object.entries(error.constraints).map(([rule, message]) =>
          rule === 'whitelistValidation' ? `${field} is not a known field` : message,
        ),
      });
    }
    if (error.children && error.children.length > 0) out.push(...flatten(error.children, field));
  }
  return out;
}

/**
 * Validates a parsed JSON body against a DTO class: unknown fields are refused, every failing field
 * is reported (not only the first), and the result is returned rather than thrown.
 */
export async function validateBody<T extends object>(dto: ClassConstructor<T>, body: unknown): Promise<Validated<T>> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, message: 'The body must be a JSON object', details: [] };
  }
  const instance = plainToInstance(dto, body);
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  if (errors.length === 0) return { ok: true, value: instance };
  return { ok: false, message: 'The request is not valid', details: flatten(errors) };
}
