import 'reflect-metadata';

import { IsOptionalNotNull, IsStorableIsoDate } from '@patient-records/platform';
import { IsIn, IsString, IsUUID, Length, MaxLength } from 'class-validator';

import { type Gender, genders } from './patient';

/**
 * Patient search criteria: every field of the seed's search, each optional; fields given are
 * combined with AND, strings match exactly. `dateOfBirthFrom` and `dateOfBirthTo` are ISO 8601 dates
 * (`YYYY-MM-DD`, or a date-time whose day is used), both inclusive. `{}` matches every patient
 * (paged). Paging is in the query string (`pageSize`, `continuationToken`), not in the criteria.
 */
export class PatientSearchDto {
  @IsOptionalNotNull()
  @IsUUID('all', { message: 'id must be a UUID' })
  id?: string;

  @IsOptionalNotNull()
  @IsString()
  @MaxLength(64)
  firstName?: string;

  @IsOptionalNotNull()
  @IsString()
  @MaxLength(64)
  lastName?: string;

  @IsOptionalNotNull()
  @IsString()
  @MaxLength(128)
  fullName?: string;

  @IsOptionalNotNull()
  @IsIn(genders, { message: `gender must be one of: ${genders.join(', ')}` })
  gender?: Gender;

  @IsOptionalNotNull()
  @IsStorableIsoDate({ message: 'dateOfBirthFrom must be an ISO 8601 date (YYYY-MM-DD)' })
  dateOfBirthFrom?: string;

  @IsOptionalNotNull()
  @IsStorableIsoDate({ message: 'dateOfBirthTo must be an ISO 8601 date (YYYY-MM-DD)' })
  dateOfBirthTo?: string;

  @IsOptionalNotNull()
  @IsString()
  @Length(4, 4, { message: 'postCode must be exactly 4 characters' })
  postCode?: string;

  @IsOptionalNotNull()
  @IsString()
  @MaxLength(64)
  insuranceNumber?: string;

  @IsOptionalNotNull()
  @IsString()
  @MaxLength(64)
  preferredContactNumber?: string;
}

/** Validated search criteria in the form the repository queries with. */
export interface PatientCriteria {
  id?: string;
  firstName?: string;
  lastName?: string;
  fullName?: string;
  gender?: Gender;
  postCode?: string;
  insuranceNumber?: string;
  preferredContactNumber?: string;
  /** Inclusive lower bound, midnight UTC of the day given. */
  dateOfBirthFrom?: Date;
  /** Exclusive upper bound: midnight UTC of the day after the day given. */
  dateOfBirthBefore?: Date;
}

const equalityFields = [
  'id',
  'firstName',
  'lastName',
  'fullName',
  'gender',
  'postCode',
  'insuranceNumber',
  'preferredContactNumber',
] as const;

const dayMs = 24 * 60 * 60 * 1000;

function startOfUtcDay(iso: string): Date {
  const day = iso.slice(0, 10);
  return new Date(`${day}T00:00:00.000Z`);
}

/** Turns validated search criteria into repository criteria (dates become a half-open day range). */
export function toCriteria(dto: PatientSearchDto): PatientCriteria {
  const criteria: PatientCriteria = {};
  for (const name of equalityFields) {
    const value = dto[name];
    if (value !== undefined) (criteria as Record<string, unknown>)[name] = value;
  }
  if (dto.dateOfBirthFrom !== undefined) criteria.dateOfBirthFrom = startOfUtcDay(dto.dateOfBirthFrom);
  if (dto.dateOfBirthTo !== undefined) criteria.dateOfBirthBefore = new Date(startOfUtcDay(dto.dateOfBirthTo).getTime() + dayMs);
  return criteria;
}
