import 'reflect-metadata';

import { type FieldError, IsOptionalNotNull, IsStorableIsoDate } from '@patient-records/platform';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsObject, IsString, IsUUID, Length, ValidateNested } from 'class-validator';


/** One observation of a test result (the seed's fields; `issued` is an ISO 8601 date-time). */
export class ObservationDto {
  @IsString()
  @Length(1, 128)
  id!: string;

  @IsString()
  @Length(1, 128)
  code!: string;

  @IsString()
  @Length(1, 256)
  measurement!: string;

  @IsString()
  @Length(1, 256)
  interpretation!: string;

  @IsStorableIsoDate({ message: 'issued must be an ISO 8601 date-time' })
  issued!: string;

  @IsString()
  @Length(1, 64)
  status!: string;
}

/** The most observations one test result may carry: bounds the document and the request. */
export const maxObservations = 200;

/**
 * `observations` over its limit, checked before validation: class-validator validates every element
 * before `@ArrayMaxSize` can refuse the list, and a 64 KiB body holds some 20,000 of them (over a
 * second of work for one request).
 */
export function observationsOverLimit(body: unknown): FieldError | undefined {
  const observations = typeof body === 'object' && body !== null ? (body as { observations?: unknown }).observations : undefined;
  if (!Array.isArray(observations) || observations.length <= maxObservations) return undefined;
  return { field: 'observations', messages: [`observations must contain no more than ${maxObservations} elements`] };
}

/**
 * A medical test result as API consumers send it. The patient comes from the route; a `patientId` in
 * the body is accepted only when it names the same patient. `id` and `lastUpdated` belong to the
 * server and are refused on create.
 */
export class TestResultDto {
  @IsOptionalNotNull()
  @IsUUID('all', { message: 'id must be a UUID' })
  id?: string;

  @IsOptionalNotNull()
  @IsUUID('all', { message: 'patientId must be a UUID' })
  patientId?: string;

  @IsString()
  @Length(1, 256)
  performer!: string;

  @IsString()
  @Length(1, 128)
  orderReference!: string;

  @IsArray()
  @ArrayMaxSize(maxObservations)
  // ValidateNested alone passes an array nested in the array (it validates that array's elements).
  @IsObject({ each: true, message: 'each of observations must be an object' })
  @ValidateNested({ each: true })
  @Type(() => ObservationDto)
  observations!: ObservationDto[];

  @IsOptionalNotNull()
  @IsString()
  lastUpdated?: string;
}

export interface Observation {
  id: string;
  code: string;
  measurement: string;
  interpretation: string;
  /** ISO 8601 date-time. */
  issued: string;
  status: string;
}

/** The client-owned fields of a test result. */
export interface TestResultFields {
  performer: string;
  orderReference: string;
  observations: Observation[];
}

/** A test result as the API answers it. */
export interface TestResult extends TestResultFields {
  id: string;
  patientId: string;
  lastUpdated: string;
}

export function testResultFields(dto: TestResultDto): TestResultFields {
  return {
    performer: dto.performer,
    orderReference: dto.orderReference,
    observations: dto.observations.map((o) => ({
      id: o.id,
      code: o.code,
      measurement: o.measurement,
      interpretation: o.interpretation,
      issued: new Date(o.issued).toISOString(),
      status: o.status,
    })),
  };
}
