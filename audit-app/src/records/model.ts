import { IsOptionalNotNull, IsStorableIsoDate } from '@patient-records/platform';
import { Type } from 'class-transformer';
import type {
  ValidationArguments,
  ValidatorConstraintInterface} from 'class-validator';
import {
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsObject,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  Validate,
  ValidateNested,
  ValidatorConstraint,
} from 'class-validator';

/** What happened to the audited action. `attempted` is recorded before a change is tried. */
export const OUTCOMES = ['attempted', 'succeeded', 'rejected', 'failed', 'compensated', 'read', 'support-action'] as const;
export type Outcome = (typeof OUTCOMES)[number];

const CODE = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
const CODE_MESSAGE = (args: ValidationArguments): string =>
  `${args.property} must contain only letters, digits and _ . : - (an id or a code, never free text)`;

/** Who acted: the calling system, and the end user when APIM passed one (an id, never a name). */
export class ActorDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  system!: string;

  @IsOptionalNotNull()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  user?: string;
}

/** The seed's `resource`: what was acted on and how. */
export class ResourceDto {
  @IsString()
  @Matches(CODE, { message: CODE_MESSAGE })
  @MaxLength(64)
  type!: string;

  @IsOptionalNotNull()
  @IsString()
  @Matches(CODE, { message: CODE_MESSAGE })
  @MaxLength(128)
  id?: string;

  @IsString()
  @Matches(CODE, { message: CODE_MESSAGE })
  @MaxLength(64)
  operation!: string;

  /** The patient a test result belongs to (an id). */
  @IsOptionalNotNull()
  @IsString()
  @Matches(CODE, { message: CODE_MESSAGE })
  @MaxLength(128)
  patientId?: string;
}

const MAX_DETAIL_KEYS = 20;

@ValidatorConstraint({ name: 'flatDetails' })
class FlatDetails implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const entries = Object.entries(value);
    return (
      entries.length <= MAX_DETAIL_KEYS &&
      entries.every(
        ([key, item]) =>
          CODE.test(key) &&
          key.length <= 64 &&
          ((typeof item === 'string' && item.length <= 256) || typeof item === 'boolean' || (typeof item === 'number' && Number.isFinite(item))),
      )
    );
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be an object of at most ${MAX_DETAIL_KEYS} code-like keys with short string, number or boolean values`;
  }
}

/**
 * The body of `POST /api/auditrecord`: the seed's `sourceSystemName` and `resource`, plus what an
 * audit register needs. Values are ids, codes, counts and times, never personal data. `id` and
 * `createdDate` are the server's (sending them is an error, as in the seed).
 */
export class CreateAuditRecordDto {
  /** Makes the request idempotent: a repeat with the same key writes nothing and returns the first record. */
  @IsOptionalNotNull()
  @IsString()
  @Matches(CODE, { message: CODE_MESSAGE })
  @MaxLength(200)
  idempotencyKey?: string;

  /** The system calling audit-app (the seed's field). */
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  sourceSystemName!: string;

  /** Defaults to `{ system: sourceSystemName }`. */
  @IsOptionalNotNull()
  @IsObject()
  @ValidateNested()
  @Type(() => ActorDto)
  actor?: ActorDto;

  @IsObject()
  @ValidateNested()
  @Type(() => ResourceDto)
  resource!: ResourceDto;

  /** Defaults to `attempted`, which is what the seed's callers meant: recorded before the change. */
  @IsOptionalNotNull()
  @IsIn(OUTCOMES)
  outcome?: Outcome;

  /** Why, as a code (`notFound`, `conflict`, `persistUnavailable`, …). */
  @IsOptionalNotNull()
  @IsString()
  @Matches(CODE, { message: CODE_MESSAGE })
  @MaxLength(64)
  reason?: string;

  /** The operation (correlation) id the caller's request carried. */
  @IsOptionalNotNull()
  @IsString()
  @Matches(CODE, { message: CODE_MESSAGE })
  @MaxLength(128)
  correlationId?: string;

  /** The orchestration instance id of the write. */
  @IsOptionalNotNull()
  @IsString()
  @Matches(CODE, { message: CODE_MESSAGE })
  @MaxLength(128)
  instanceId?: string;

  /** The resource version written. */
  @IsOptionalNotNull()
  @IsInt()
  @Min(0)
  version?: number;

  /** How many records a read returned. */
  @IsOptionalNotNull()
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  resultCount?: number;

  /** When the audited action happened (ISO 8601 with a time zone). Defaults to the time of receipt. */
  @IsOptionalNotNull()
  @IsISO8601({ strict: true, strictSeparator: true })
  @IsStorableIsoDate({ message: 'timestamp must be an ISO 8601 date-time' })
  @Matches(/(Z|[+-]\d{2}:\d{2})$/, { message: 'timestamp must include a time zone (Z or ±hh:mm)' })
  timestamp?: string;

  /** Further codes and counts; never personal data. */
  @IsOptionalNotNull()
  @Validate(FlatDetails)
  details?: Record<string, string | number | boolean>;
}

/** An audit record as audit-app answers with it. */
export interface AuditRecord {
  id: string;
  /** When audit-app stored it. */
  createdDate: string;
  /** When the audited action happened. */
  timestamp: string;
  sourceSystemName: string;
  actor: { system: string; user?: string };
  resource: { type: string; id?: string; operation: string; patientId?: string };
  /** Copies of `resource.operation`, `resource.type` and `resource.id`, for querying. */
  operation: string;
  resourceType: string;
  resourceId?: string;
  outcome: Outcome;
  reason?: string;
  correlationId?: string;
  instanceId?: string;
  /**
   * The Application Insights operation id (W3C trace id) of the request that delivered the record,
   * set by audit-app from the request's trace context, never by the caller: it links the record to
   * the write's end-to-end trace (docs/telemetry.md).
   */
  telemetryOperationId?: string;
  version?: number;
  resultCount?: number;
  details?: Record<string, string | number | boolean>;
  idempotencyKey?: string;
}
