import { IsOptionalNotNull, IsStorableIsoDate } from '@patient-records/platform';
import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

/** The query parameters of `GET /api/auditrecord`; every filter is optional and they combine with AND. */
export class AuditRecordQueryDto {
  @IsOptionalNotNull()
  @IsString()
  @Matches(ID, { message: 'resourceId must be an id' })
  @MaxLength(128)
  resourceId?: string;

  @IsOptionalNotNull()
  @IsString()
  @Matches(ID, { message: 'correlationId must be an id' })
  @MaxLength(128)
  correlationId?: string;

  @IsOptionalNotNull()
  @IsString()
  @Matches(ID, { message: 'instanceId must be an id' })
  @MaxLength(128)
  instanceId?: string;

  /** Records whose `timestamp` is at or after this instant. */
  @IsOptionalNotNull()
  @IsStorableIsoDate({ message: 'from must be an ISO 8601 date-time' })
  from?: string;

  /** Records whose `timestamp` is before this instant (exclusive). */
  @IsOptionalNotNull()
  @IsStorableIsoDate({ message: 'to must be an ISO 8601 date-time' })
  to?: string;

  @IsOptionalNotNull()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number' })
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;

  @IsOptionalNotNull()
  @IsString()
  @MaxLength(2048)
  continuationToken?: string;
}

/** A validated query, with the defaults applied. */
export interface AuditRecordFilter {
  resourceId?: string;
  correlationId?: string;
  instanceId?: string;
  from?: Date;
  to?: Date;
}
