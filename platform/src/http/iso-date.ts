import { isISO8601, ValidateBy, type ValidationOptions } from 'class-validator';

/** `YYYY`, `YYYY-MM` or `YYYY-MM-DD` at the start of a value, ending it or followed by a time. */
const leadingCalendarDate = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?=$|[T ])/;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Whether a value starts with a day of the (Gregorian) calendar in the extended form: an unsigned
 * `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, alone or followed by a time. `Date` does not refuse a day the
 * month lacks (`1980-02-31` becomes March 2) and reads `-1980` as 1980, so a value must pass this
 * before it is turned into a date, or it would be stored as another day than the one sent.
 * class-validator's strict `isISO8601` check cannot stand in: it refuses every year before 1000.
 */
export function isCalendarDate(value: string): boolean {
  const match = leadingCalendarDate.exec(value);
  if (match === null) return false;
  const [, year, month, day] = match;
  if (month === undefined) return true;
  const monthNumber = Number(month);
  if (monthNumber < 1 || monthNumber > 12) return false;
  if (day === undefined) return true;
  const dayNumber = Number(day);
  return dayNumber >= 1 && dayNumber <= daysInMonth(Number(year), monthNumber);
}

/**
 * An ISO 8601 date or date-time that can be stored as the date it names: `isISO8601` also accepts
 * week dates (`2026-W05-1`), ordinal dates (`2026-034`), the basic format (`20260203`), signed years,
 * decimal hours and days the month lacks (`2026-02-30`), which `Date` cannot read or reads as another
 * day. Those are refused here rather than failing (or silently becoming another day) where the value
 * is turned into a date.
 */
export function IsStorableIsoDate(validationOptions?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStorableIsoDate',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && isISO8601(value) && isCalendarDate(value) && Number.isFinite(Date.parse(value)),
        defaultMessage: () => '$property must be an ISO 8601 date-time',
      },
    },
    validationOptions,
  );
}
