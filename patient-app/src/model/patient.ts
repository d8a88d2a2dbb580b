import 'reflect-metadata';

import { isCalendarDate, IsOptionalNotNull } from '@patient-records/platform';
import { IsIn, IsString, IsUUID, Length, MaxLength, ValidateBy } from 'class-validator';

/** The seed's gender values, kept so its API consumers can move over. */
export const genders = ['male', 'female', 'other', 'unknown'] as const;
export type Gender = (typeof genders)[number];

/** `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, years 0001–9999: the seed's accepted date-of-birth forms. */
export const partialDatePattern = /^(?!0000)\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;

/**
 * A date of birth in one of the `partialDatePattern` forms whose day, when given, the month has:
 * `1980-02-31` is stored as a string but searched as a date, where it would count as March 2.
 */
function IsDateOfBirth(): PropertyDecorator {
  return ValidateBy({
    name: 'isDateOfBirth',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' && partialDatePattern.test(value) && isCalendarDate(value),
      defaultMessage: () => 'dateOfBirth must be YYYY, YYYY-MM or YYYY-MM-DD, and a day the month has',
    },
  });
}

/**
 * A patient as API consumers send it (create and full replacement). `id` and `lastUpdated` belong to
 * the server: a create that carries them is refused, a replacement may echo them (`id` must then
 * match the URL; `lastUpdated` is ignored). Requiredness follows what the seed actually validated
 * (its Joi schema), so every request the seed accepted is still accepted.
 */
export class PatientDto {
  @IsOptionalNotNull()
  @IsUUID('all', { message: 'id must be a UUID' })
  id?: string;

  @IsString()
  @Length(1, 64)
  firstName!: string;

  @IsOptionalNotNull()
  @IsString()
  @MaxLength(64)
  lastName?: string;

  @IsOptionalNotNull()
  @IsString()
  @MaxLength(128)
  fullName?: string;

  @IsIn(genders, { message: `gender must be one of: ${genders.join(', ')}` })
  gender!: Gender;

  @IsString()
  @IsDateOfBirth()
  dateOfBirth!: string;

  @IsString()
  @Length(4, 4, { message: 'postCode must be exactly 4 characters' })
  postCode!: string;

  @IsOptionalNotNull()
  @IsString()
  @MaxLength(64)
  insuranceNumber?: string;

  @IsOptionalNotNull()
  @IsString()
  @MaxLength(64)
  preferredContactNumber?: string;

  @IsOptionalNotNull()
  @IsString({ message: 'lastUpdated must be an ISO 8601 date-time string' })
  lastUpdated?: string;
}

/** The patient fields the service stores and returns, without server-owned ones. */
export interface PatientFields {
  firstName: string;
  lastName?: string;
  fullName?: string;
  gender: Gender;
  dateOfBirth: string;
  postCode: string;
  insuranceNumber?: string;
  preferredContactNumber?: string;
}

/** A patient as the API answers it. */
export interface Patient extends PatientFields {
  id: string;
  /** ISO 8601 time of the last write that took effect. */
  lastUpdated: string;
}

const patientFieldNames = [
  'firstName',
  'lastName',
  'fullName',
  'gender',
  'dateOfBirth',
  'postCode',
  'insuranceNumber',
  'preferredContactNumber',
] as const satisfies readonly (keyof PatientFields)[];

/** The client-owned fields of a validated DTO, leaving out absent optional ones. */
export function patientFields(dto: PatientDto): PatientFields {
  const fields: Record<string, unknown> = {};
  for (const name of patientFieldNames) {
    if (dto[name] !== undefined) fields[name] = dto[name];
  }
  return fields as unknown as PatientFields;
}

/**
 * The earliest day a partial date of birth can mean (`1980` → 1980-01-01), as a UTC date: what a
 * date-of-birth range search compares against.
 */
export function earliestDateOfBirth(dateOfBirth: string): Date {
  const [year = '0001', month = '01', day = '01'] = dateOfBirth.split('-');
  return new Date(`${year}-${month}-${day}T00:00:00.000Z`);
}
