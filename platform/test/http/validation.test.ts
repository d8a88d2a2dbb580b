import { HttpRequest } from '@azure/functions';
import { Type } from 'class-transformer';
import { IsArray, IsInt, IsOptional, IsString, MaxLength, Min, ValidateNested } from 'class-validator';

import { isCalendarDate, IsOptionalNotNull, IsStorableIsoDate, MAX_REPORTED_FIELDS, queryOf, queryToObject, validateInput, ValidationError, validOrThrow } from '../../src/http';

class Item {
  @IsString()
  code!: string;

  @IsInt()
  @Min(1)
  quantity!: number;
}

class Owner {
  @IsString()
  @MaxLength(5)
  name!: string;
}

class Order {
  @IsString()
  @MaxLength(10)
  reference!: string;

  @ValidateNested()
  @Type(() => Owner)
  owner!: Owner;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => Item)
  items!: Item[];

  @IsOptional()
  @IsString()
  note?: string;
}

const valid = { reference: 'R-1', owner: { name: 'ann' }, items: [{ code: 'a', quantity: 1 }] };

describe('validateInput', () => {
  it('returns a typed instance of the DTO for valid input', async () => {
    const result = await validateInput(Order, valid);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toBeInstanceOf(Order);
    expect(result.value.owner).toBeInstanceOf(Owner);
    expect(result.value.items[0]).toBeInstanceOf(Item);
  });

  it('reports every failing field, nested and in arrays, by path', async () => {
    const result = await validateInput(Order, {
      reference: 'far-too-long-reference',
      owner: { name: 'a name that is too long' },
      items: [{ code: 'a', quantity: 1 }, { code: 7, quantity: 0 }],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const fields = result.errors.map((error) => error.field).sort();
    expect(fields).toEqual(['items[1].code', 'items[1].quantity', 'owner.name', 'reference']);
    const ownerName = result.errors.find((error) => error.field === 'owner.name');
    expect(ownerName?.messages).toEqual(['owner.name must be shorter than or equal to 5 characters']);
  });

  it('reports a missing required field and every message for it', async () => {
    const result = await validateInput(Order, { owner: { name: 'x' }, items: [] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([{ field: 'reference', messages: expect.arrayContaining(['reference must be a string']) }]);
    expect(result.errors[0]?.messages).toHaveLength(2);
  });

  it('rejects unknown fields at the top level and inside nested objects', async () => {
    const result = await validateInput(Order, { ...valid, extra: 1, owner: { name: 'x', role: 'admin' } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual(
      expect.arrayContaining([
        { field: 'extra', messages: ['property extra should not exist'] },
        { field: 'owner.role', messages: ['property owner.role should not exist'] },
      ]),
    );
  });

  it('reports a nested object given as a scalar', async () => {
    const result = await validateInput(Order, { ...valid, owner: 'ann' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((error) => error.field)).toContain('owner');
  });

  it.each([null, [], 'text', 3])('refuses input that is not an object: %p', async (input) => {
    const result = await validateInput(Order, input);
    expect(result).toEqual({ ok: false, errors: [{ field: '', messages: ['the input must be a JSON object'] }] });
  });
});

describe('validateInput with very many failing fields', () => {
  it('lists at most MAX_REPORTED_FIELDS, then says how many more failed, without overflowing the stack', async () => {
    // 70,000 empty items fail twice each: spreading 140,000 fields into push() overflowed the stack (a 500).
    const result = await validateInput(Order, { ...valid, items: Array.from({ length: 70_000 }, () => ({})) });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(MAX_REPORTED_FIELDS + 1);
    expect(result.errors[0]).toEqual({ field: 'items[0].code', messages: ['items[0].code must be a string'] });
    expect(result.errors[MAX_REPORTED_FIELDS]).toEqual({ field: '', messages: [`${140_000 - MAX_REPORTED_FIELDS} more invalid fields are not listed`] });
  });
});

describe('validOrThrow', () => {
  it('throws a 400 ValidationError carrying the failing fields as details', async () => {
    const error = await validOrThrow(Order, { ...valid, reference: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ status: 400, code: 'validation_failed', details: [{ field: 'reference' }] });
  });
});

describe('queryToObject', () => {
  it('keeps single values as strings and repeated ones as arrays', () => {
    expect(queryToObject(new URLSearchParams('a=1&b=2&b=3'))).toEqual({ a: '1', b: ['2', '3'] });
  });

  it('leaves out the Functions key parameter, which the host checks', () => {
    expect(queryToObject(new URLSearchParams('a=1&code=secret-key'))).toEqual({ a: '1' });
  });

  it.each(['__proto__=x', '__proto__=a&__proto__=b', 'constructor=x', 'prototype=1'])('refuses a prototype key as an unknown field: %s', (query) => {
    const name = query.split('=')[0]!;
    const error = (() => {
      try {
        return queryToObject(new URLSearchParams(query));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ status: 400, details: [{ field: name }] });
  });
});

describe('queryOf', () => {
  it('reads the query from the URL, so repeated and __proto__ parameters survive the host map', () => {
    // The host map joins repeats ("1,2") and drops __proto__; the URL keeps what the caller sent.
    const request = new HttpRequest({ method: 'GET', url: 'http://localhost/api/x?a=1&a=2&__proto__=p', query: { a: '1,2' } });
    expect(request.query.getAll('a')).toEqual(['1,2']);
    expect(queryOf(request).getAll('a')).toEqual(['1', '2']);
    expect(queryOf(request).get('__proto__')).toBe('p');
  });
});

describe('IsOptionalNotNull', () => {
  class Named {
    @IsOptionalNotNull()
    @IsString()
    nickname?: string;
  }

  it('lets a field be left out, but validates null like any other value', async () => {
    expect((await validateInput(Named, {})).ok).toBe(true);
    expect((await validateInput(Named, { nickname: 'x' })).ok).toBe(true);
    expect(await validateInput(Named, { nickname: null })).toEqual({ ok: false, errors: [{ field: 'nickname', messages: ['nickname must be a string'] }] });
  });
});

describe('IsStorableIsoDate', () => {
  class Event {
    @IsStorableIsoDate()
    at!: string;
  }

  it.each(['2026-03-01', '2026-03-01T10:00:00Z', '2026-03-01T10:00:00.123+10:00', '2026', '2024-02-29', '0900-01-01T00:00:00Z'])('accepts %s', async (at) => {
    expect((await validateInput(Event, { at })).ok).toBe(true);
  });

  it.each(['2026-W09-7', '2026-060', '20260301', '2026-03-01T10.5Z', '2026-02-30', '1980-02-31T00:00:00Z', '2025-02-29', '-1980-02-28', '+1980-02-28', 'yesterday', 20260301])(
    'refuses %s: isISO8601 accepts some of these, but Date cannot read them',
    async (at) => {
      expect(await validateInput(Event, { at })).toEqual({ ok: false, errors: [{ field: 'at', messages: ['at must be an ISO 8601 date-time'] }] });
    },
  );
});

describe('isCalendarDate', () => {
  it.each(['1980', '1980-02', '1980-02-29', '2000-02-29', '2026-12-31', '0001-01-01', '2026-01-31T10:00:00Z', '2026-01-31 10:00Z'])('%s is a day of the calendar', (value) => {
    expect(isCalendarDate(value)).toBe(true);
  });

  it.each(['1980-02-30', '1980-02-31', '1981-02-29', '1900-02-29', '2026-04-31', '2026-06-31', '2026-09-31', '2026-11-31', '2026-00-10', '2026-13-01', '2026-01-00', '2026-01-32'])(
    '%s is not: the month has no such day',
    (value) => {
      expect(isCalendarDate(value)).toBe(false);
    },
  );

  it.each(['-1980', '+1980-01-01', '80', '1980-1-1', '19800101', '2026-W05-1', '2026-034', ''])('%s is not: not the extended calendar form', (value) => {
    expect(isCalendarDate(value)).toBe(false);
  });
});
