import { isISO8601, ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * An ISO 8601 date or date-time that can be stored as a date: `isISO8601` also accepts week dates
 * (`2026-W05-1`), ordinal dates (`2026-034`), the basic format (`20260203`) and decimal hours, which
 * `Date` cannot read. Those are refused here rather than failing (or silently becoming another day)
 * where the value is turned into a date.
 */
export function IsStorableIsoDate(validationOptions?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStorableIsoDate',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && isISO8601(value, { strict: true }) && Number.isFinite(Date.parse(value)),
        defaultMessage: () => '$property must be an ISO 8601 date-time',
      },
    },
    validationOptions,
  );
}
