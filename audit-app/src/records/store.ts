import { createHash, randomUUID } from 'node:crypto';

import { type ContinuationTokens, ensureIndexes, type IndexDefinition, isDuplicateKeyError } from '@patient-records/platform';
import type { Collection, Db, Filter } from 'mongodb';

import type { AuditRecord, CreateAuditRecordDto } from './model';
import type { AuditRecordFilter } from './query';

/** The collection's name; one per database, the seed's name. */
export const AUDIT_COLLECTION = 'audits';

/** The stored document: the record, its shard key, and the hash that makes idempotency checkable. */
export interface AuditDocument extends Omit<AuditRecord, 'createdDate' | 'timestamp'> {
  _id: string;
  /** Cosmos DB shard key: the record's own id, so every write is a single-partition insert. */
  _shardKey: string;
  createdDate: Date;
  timestamp: Date;
  /** SHA-256 of the request (without its idempotency key), to tell a repeat from a key reused for another record. */
  requestHash?: string;
}

/**
 * Indexes the queries need; `_id` (unique, always there) is what makes idempotent creation atomic.
 * Every listing sorts newest first on `timestamp`, then `_id`, so each index ends with both.
 */
export const AUDIT_INDEXES: readonly IndexDefinition[] = [
  { name: 'timestamp_desc', key: { timestamp: -1, _id: -1 } },
  { name: 'resourceId_timestamp_desc', key: { resourceId: 1, timestamp: -1, _id: -1 } },
  { name: 'correlationId_timestamp_desc', key: { correlationId: 1, timestamp: -1, _id: -1 } },
  { name: 'instanceId_timestamp_desc', key: { instanceId: 1, timestamp: -1, _id: -1 } },
];

export type CreateResult =
  | { kind: 'created'; record: AuditRecord }
  | { kind: 'repeated'; record: AuditRecord }
  | { kind: 'conflict'; record: AuditRecord };

export interface Page {
  items: AuditRecord[];
  continuationToken: string | null;
}

interface Position {
  t: string;
  id: string;
}

const isPosition = (value: unknown): value is Position =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Position).t === 'string' &&
  !Number.isNaN(Date.parse((value as Position).t)) &&
  typeof (value as Position).id === 'string';

/**
 * The audit register's data access: append-only inserts and keyset-paged queries. Nothing here
 * updates or deletes a record.
 */
export class AuditRecordStore {
  private readonly collection: Collection<AuditDocument>;
  private indexesReady: Promise<void> | undefined;

  constructor(
    db: Db,
    private readonly tokens: ContinuationTokens,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.collection = db.collection<AuditDocument>(AUDIT_COLLECTION);
  }

  /**
   * Creates the indexes once per process, before the first operation. A failure (the store is
   * down) is not remembered: the next request tries again.
   */
  ensureIndexes(): Promise<void> {
    this.indexesReady ??= ensureIndexes(this.collection, AUDIT_INDEXES).catch((error: unknown) => {
      this.indexesReady = undefined;
      throw error;
    });
    return this.indexesReady;
  }

  /**
   * Appends a record. With an idempotency key the record id is derived from it (and the calling
   * system), so concurrent repeats race on the unique `_id`: exactly one insert wins, the others
   * get the duplicate key error and read the winner back. No update is involved anywhere.
   */
  async create(input: CreateAuditRecordDto, delivery: { telemetryOperationId?: string } = {}): Promise<CreateResult> {
    await this.ensureIndexes();
    const now = this.clock();
    const id = input.idempotencyKey === undefined ? randomUUID() : idFromKey(input.sourceSystemName, input.idempotencyKey);
    const document = toDocument(id, input, now);
    // Not part of the request hash: a retry delivered under another trace is still a repeat.
    if (delivery.telemetryOperationId !== undefined) document.telemetryOperationId = delivery.telemetryOperationId;
    try {
      await this.collection.insertOne(document);
      return { kind: 'created', record: toRecord(document) };
    } catch (error) {
      if (!isDuplicateKeyError(error) || input.idempotencyKey === undefined) throw error;
    }
    const stored = await this.collection.findOne({ _id: id, _shardKey: id });
    if (stored === null) throw new Error(`Duplicate key for audit record ${id}, but no such record could be read`);
    return { kind: stored.requestHash === document.requestHash ? 'repeated' : 'conflict', record: toRecord(stored) };
  }

  /** One record by id (a single-partition point read). */
  async get(id: string): Promise<AuditRecord | undefined> {
    await this.ensureIndexes();
    const stored = await this.collection.findOne({ _id: id, _shardKey: id });
    return stored === null ? undefined : toRecord(stored);
  }

  /**
   * One page of records matching `filter`, newest first. The continuation token holds the last
   * record's (`timestamp`, `_id`); the next page starts strictly after it, so records added
   * meanwhile never shift a page or repeat one.
   */
  async query(filter: AuditRecordFilter, limit: number, continuationToken?: string): Promise<Page> {
    const scope = scopeOf(filter);
    const after = continuationToken === undefined ? undefined : this.tokens.decode(continuationToken, scope, isPosition);
    await this.ensureIndexes();
    const clauses: Filter<AuditDocument>[] = [];
    if (filter.resourceId !== undefined) clauses.push({ resourceId: filter.resourceId });
    if (filter.correlationId !== undefined) clauses.push({ correlationId: filter.correlationId });
    if (filter.instanceId !== undefined) clauses.push({ instanceId: filter.instanceId });
    if (filter.from !== undefined) clauses.push({ timestamp: { $gte: filter.from } });
    if (filter.to !== undefined) clauses.push({ timestamp: { $lt: filter.to } });
    if (after !== undefined) {
      const at = new Date(after.t);
      clauses.push({ $or: [{ timestamp: { $lt: at } }, { timestamp: at, _id: { $lt: after.id } }] });
    }
    const mongoFilter: Filter<AuditDocument> = clauses.length === 0 ? {} : clauses.length === 1 ? (clauses[0] ?? {}) : { $and: clauses };
    const documents = await this.collection
      .find(mongoFilter)
      .sort({ timestamp: -1, _id: -1 })
      .limit(limit + 1)
      .toArray();
    const page = documents.slice(0, limit);
    const last = page[page.length - 1];
    const continuation =
      documents.length > limit && last !== undefined ? this.tokens.encode({ t: last.timestamp.toISOString(), id: last._id }, scope) : null;
    return { items: page.map(toRecord), continuationToken: continuation };
  }
}

/** A UUID-shaped id derived from the calling system and its idempotency key. */
export function idFromKey(sourceSystemName: string, idempotencyKey: string): string {
  const hex = createHash('sha256').update(`audit-record\n${sourceSystemName}\n${idempotencyKey}`).digest('hex');
  // RFC 4122 layout with version 8 (custom) and the variant bits set.
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function requestHash(input: CreateAuditRecordDto): string {
  const { idempotencyKey: _key, ...rest } = input;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** JSON with object keys sorted, so that the same content always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function scopeOf(filter: AuditRecordFilter): string {
  return canonicalJson({
    resourceId: filter.resourceId,
    correlationId: filter.correlationId,
    instanceId: filter.instanceId,
    from: filter.from?.toISOString(),
    to: filter.to?.toISOString(),
  });
}

function toDocument(id: string, input: CreateAuditRecordDto, now: Date): AuditDocument {
  const resource: AuditDocument['resource'] = { type: input.resource.type, operation: input.resource.operation };
  if (input.resource.id !== undefined) resource.id = input.resource.id;
  if (input.resource.patientId !== undefined) resource.patientId = input.resource.patientId;
  const actor: AuditDocument['actor'] = { system: input.actor?.system ?? input.sourceSystemName };
  if (input.actor?.user !== undefined) actor.user = input.actor.user;
  const document: AuditDocument = {
    _id: id,
    _shardKey: id,
    id,
    createdDate: now,
    timestamp: input.timestamp === undefined ? now : new Date(input.timestamp),
    sourceSystemName: input.sourceSystemName,
    actor,
    resource,
    operation: resource.operation,
    resourceType: resource.type,
    outcome: input.outcome ?? 'attempted',
  };
  if (resource.id !== undefined) document.resourceId = resource.id;
  if (input.reason !== undefined) document.reason = input.reason;
  if (input.correlationId !== undefined) document.correlationId = input.correlationId;
  if (input.instanceId !== undefined) document.instanceId = input.instanceId;
  if (input.version !== undefined) document.version = input.version;
  if (input.resultCount !== undefined) document.resultCount = input.resultCount;
  if (input.details !== undefined) document.details = { ...input.details };
  if (input.idempotencyKey !== undefined) {
    document.idempotencyKey = input.idempotencyKey;
    document.requestHash = requestHash(input);
  }
  return document;
}

function toRecord(document: AuditDocument): AuditRecord {
  const { _id, _shardKey, requestHash: _hash, createdDate, timestamp, ...rest } = document;
  return { ...rest, createdDate: createdDate.toISOString(), timestamp: timestamp.toISOString() };
}
