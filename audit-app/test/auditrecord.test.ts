import type { LoadedFunctionApp, RegisteredHttpFunction } from './support/functions';
import { invoke, loadFunctionApp } from './support/functions';
import { useStore } from './support/store';

const fixture = useStore('audit_app');
let auditApp: LoadedFunctionApp;

const fn = (name: string): RegisteredHttpFunction => auditApp.get(name);
const post = (json: unknown, headers: Record<string, string> = {}) => invoke(fn('createAuditRecord'), { json, headers });
// The query goes in the URL, as the host passes it: the handler reads it from there, not from request.query.
const list = (query: Record<string, string>) =>
  invoke(fn('listAuditRecords'), { url: `http://127.0.0.1/api/auditrecord?${new URLSearchParams(query).toString()}` });
const audits = () => fixture.db().collection('audits');

beforeAll(async () => {
  process.env.MONGODB_CONNECTION_STRING = fixture.store().uri;
  process.env.AUDIT_DATABASE_NAME = fixture.db().databaseName;
  process.env.CONTINUATION_TOKEN_KEY = 'test-signing-key';
  auditApp = loadFunctionApp(() => jest.requireActual('../src/index'));
  await auditApp.start();
});

afterAll(async () => {
  await (auditApp as LoadedFunctionApp | undefined)?.terminate();
});

let sequence = 0;
/** A complete, valid record as patient-app's write orchestration sends it. */
function writeRecord(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  sequence += 1;
  return {
    idempotencyKey: `op-${sequence}:attempted`,
    sourceSystemName: 'patient-app',
    actor: { system: 'contoso-portal', user: 'user-0001' },
    resource: { type: 'patient', id: `5f3a1c2e-0000-4000-8000-${String(sequence).padStart(12, '0')}`, operation: 'create' },
    outcome: 'attempted',
    correlationId: `op-${sequence}`,
    instanceId: `write-op-${sequence}`,
    version: 1,
    timestamp: '2026-03-01T10:00:00.000Z',
    ...overrides,
  };
}

describe('registrations', () => {
  it('registers the audit API with function keys and an anonymous health check', () => {
    const summary = [...auditApp.functions.values()].map(({ name, route, methods, authLevel }) => ({ name, route, methods, authLevel }));
    expect(summary).toEqual(
      expect.arrayContaining([
        { name: 'createAuditRecord', route: 'auditrecord', methods: ['POST'], authLevel: 'function' },
        { name: 'listAuditRecords', route: 'auditrecord', methods: ['GET'], authLevel: 'function' },
        { name: 'getAuditRecord', route: 'auditrecord/{id:guid}', methods: ['GET'], authLevel: 'function' },
        { name: 'health', route: 'health', methods: ['GET'], authLevel: 'anonymous' },
      ]),
    );
    expect(summary).toHaveLength(4);
  });

  it('answers health with 200 and no data', async () => {
    const answer = await invoke(fn('health'));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 'ok' });
  });
});

describe('POST /api/auditrecord', () => {
  it('stores a complete record and answers 201 with it and its Location', async () => {
    const request = writeRecord({ reason: 'none', resultCount: 0, details: { step: 'persist', attempt: 2, retried: true } });
    const answer = await post(request);
    expect(answer.status).toBe(201);
    const record = answer.body;
    expect(answer.headers.get('location')).toBe(`/api/auditrecord/${record.id}`);
    expect(record).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      createdDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      timestamp: '2026-03-01T10:00:00.000Z',
      sourceSystemName: 'patient-app',
      actor: { system: 'contoso-portal', user: 'user-0001' },
      resource: request.resource,
      operation: 'create',
      resourceType: 'patient',
      resourceId: (request.resource as { id: string }).id,
      outcome: 'attempted',
      reason: 'none',
      correlationId: request.correlationId,
      instanceId: request.instanceId,
      version: 1,
      resultCount: 0,
      details: { step: 'persist', attempt: 2, retried: true },
      idempotencyKey: request.idempotencyKey,
    });
    const stored = await audits().findOne({ _id: record.id });
    expect(stored).toMatchObject({ _id: record.id, _shardKey: record.id, timestamp: new Date('2026-03-01T10:00:00.000Z') });
    expect(stored?.createdDate).toBeInstanceOf(Date);

    const read = await invoke(fn('getAuditRecord'), { params: { id: record.id } });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(record);
  });

  it("accepts the seed's record shape and fills in actor, outcome and time", async () => {
    const before = Date.now();
    const answer = await post({ sourceSystemName: 'PatientTestApi', resource: { type: 'patient', id: 'p-1', operation: 'read' } });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      sourceSystemName: 'PatientTestApi',
      actor: { system: 'PatientTestApi' },
      outcome: 'attempted',
      operation: 'read',
      resourceType: 'patient',
      resourceId: 'p-1',
    });
    expect(answer.body.idempotencyKey).toBeUndefined();
    expect(Date.parse(answer.body.timestamp)).toBeGreaterThanOrEqual(before - 1000);
    expect(answer.body.timestamp).toBe(answer.body.createdDate);
  });

  it('without an idempotency key, every request is a new record', async () => {
    const request = { sourceSystemName: 'PatientTestApi', resource: { type: 'patient', operation: 'search' }, resultCount: 3 };
    const first = await post(request);
    const second = await post(request);
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(first.body.id).not.toBe(second.body.id);
  });

  it('answers 404 for an unknown record id', async () => {
    const answer = await invoke(fn('getAuditRecord'), { params: { id: '00000000-0000-4000-8000-000000000000' } });
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('not_found');
  });

  describe('validation', () => {
    const long = (n: number) => 'a'.repeat(n);
    const cases: [string, Record<string, unknown>, string][] = [
      ['sourceSystemName missing', { sourceSystemName: undefined }, 'sourceSystemName'],
      ['sourceSystemName not a string', { sourceSystemName: 7 }, 'sourceSystemName'],
      ['sourceSystemName empty', { sourceSystemName: '' }, 'sourceSystemName'],
      ['sourceSystemName too long', { sourceSystemName: long(129) }, 'sourceSystemName'],
      ['resource missing', { resource: undefined }, 'resource'],
      ['resource not an object', { resource: 'patient' }, 'resource'],
      ['resource.type missing', { resource: { operation: 'create' } }, 'resource.type'],
      ['resource.type free text', { resource: { type: 'a patient', operation: 'create' } }, 'resource.type'],
      ['resource.operation missing', { resource: { type: 'patient' } }, 'resource.operation'],
      ['resource.id too long', { resource: { type: 'patient', operation: 'read', id: long(129) } }, 'resource.id'],
      ['resource.patientId not an id', { resource: { type: 'test', operation: 'read', patientId: 'Jane Doe' } }, 'resource.patientId'],
      ['resource with an unknown field', { resource: { type: 'patient', operation: 'read', name: 'Jane' } }, 'resource.name'],
      ['actor not an object', { actor: 'someone' }, 'actor'],
      ['actor.system missing', { actor: { user: 'u-1' } }, 'actor.system'],
      ['actor.user empty', { actor: { system: 's', user: '' } }, 'actor.user'],
      ['actor with an unknown field', { actor: { system: 's', email: 'jane@example.com' } }, 'actor.email'],
      ['outcome unknown', { outcome: 'done' }, 'outcome'],
      ['reason free text', { reason: 'the patient Jane was not found' }, 'reason'],
      ['correlationId not a string', { correlationId: 12 }, 'correlationId'],
      ['instanceId too long', { instanceId: long(129) }, 'instanceId'],
      ['version negative', { version: -1 }, 'version'],
      ['version not whole', { version: 1.5 }, 'version'],
      ['resultCount a string', { resultCount: '3' }, 'resultCount'],
      ['timestamp not a date', { timestamp: 'yesterday' }, 'timestamp'],
      ['timestamp without a zone', { timestamp: '2026-03-01T10:00:00' }, 'timestamp'],
      ['timestamp as a week date Date cannot read', { timestamp: '2026-W09-7T10:00:00Z' }, 'timestamp'],
      ['timestamp as an ordinal date', { timestamp: '2026-060T10:00:00Z' }, 'timestamp'],
      ['details nested', { details: { patient: { name: 'Jane' } } }, 'details'],
      ['details too many keys', { details: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i])) }, 'details'],
      ['idempotencyKey with spaces', { idempotencyKey: 'my key' }, 'idempotencyKey'],
      ['idempotencyKey too long', { idempotencyKey: long(201) }, 'idempotencyKey'],
      ['server id sent', { id: 'abc' }, 'id'],
      ['server createdDate sent', { createdDate: '2026-01-01T00:00:00Z' }, 'createdDate'],
      ['unknown field', { patientName: 'Jane Doe' }, 'patientName'],
      ['timestamp a day February lacks', { timestamp: '2026-02-30T10:00:00Z' }, 'timestamp'],
      // IsOptional skips null: each of these passed validation before audit-app used IsOptionalNotNull.
      ...['idempotencyKey', 'actor', 'outcome', 'reason', 'correlationId', 'instanceId', 'version', 'resultCount', 'timestamp', 'details'].map(
        (field): [string, Record<string, unknown>, string] => [`${field} null`, { [field]: null }, field],
      ),
      ['actor.user null', { actor: { system: 's', user: null } }, 'actor.user'],
      ['resource.id null', { resource: { type: 'patient', operation: 'read', id: null } }, 'resource.id'],
      ['resource.patientId null', { resource: { type: 'test', operation: 'read', patientId: null } }, 'resource.patientId'],
    ];

    it.each(cases)('%s → 400 naming the field, nothing stored', async (_title, overrides, field) => {
      const countBefore = await audits().countDocuments();
      const answer = await post(writeRecord(overrides));
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('validation_failed');
      expect(answer.body.error.details).toEqual([{ field, messages: expect.any(Array) }]);
      expect(answer.body.error.details[0].messages.length).toBeGreaterThan(0);
      expect(JSON.stringify(answer.body)).not.toContain('Jane');
      expect(await audits().countDocuments()).toBe(countBefore);
    });

    it('reports every failing field at once', async () => {
      const answer = await post({ sourceSystemName: 1, resource: { type: 'x y' }, outcome: 'maybe', extra: true });
      expect(answer.status).toBe(400);
      expect((answer.body.error.details as { field: string }[]).map((detail) => detail.field).sort()).toEqual([
        'extra',
        'outcome',
        'resource.operation',
        'resource.type',
        'sourceSystemName',
      ]);
    });

    it.each([
      ['an array', []],
      ['a string', 'record'],
      ['null', null],
    ])('refuses %s as the body', async (_title, body) => {
      const answer = await post(body);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('validation_failed');
    });
  });

  describe('transport', () => {
    it('answers 415 to a body that is not JSON', async () => {
      const answer = await invoke(fn('createAuditRecord'), { text: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(answer.status).toBe(415);
      expect(answer.body.error.code).toBe('unsupported_media_type');
    });

    it('answers 413 to a body over 16 KiB, declared or not', async () => {
      const big = writeRecord({ details: { note: 'x'.repeat(256) }, padding: 'x'.repeat(17 * 1024) });
      const undeclared = await post(big);
      expect(undeclared.status).toBe(413);
      expect(undeclared.body.error).toEqual({ code: 'payload_too_large', message: expect.any(String), details: { limitBytes: 16384 } });
      const declared = await invoke(fn('createAuditRecord'), { json: writeRecord(), headers: { 'content-length': '20000' } });
      expect(declared.status).toBe(413);
    });

    it('answers 400 to malformed JSON and to a missing body', async () => {
      const malformed = await invoke(fn('createAuditRecord'), { text: '{"sourceSystemName":', headers: { 'content-type': 'application/json' } });
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.code).toBe('invalid_json');
      const empty = await invoke(fn('createAuditRecord'), { headers: { 'content-type': 'application/json' } });
      expect(empty.status).toBe(400);
      expect(empty.body.error.code).toBe('body_required');
    });
  });
});

describe('idempotency', () => {
  it('answers a repeat with the stored record and 200, writing nothing', async () => {
    const request = writeRecord();
    const first = await post(request);
    expect(first.status).toBe(201);
    const repeat = await post({ ...request });
    expect(repeat.status).toBe(200);
    expect(repeat.body).toEqual(first.body);
    expect(await audits().countDocuments({ idempotencyKey: request.idempotencyKey })).toBe(1);
  });

  it('answers 422 when the key was used for a different record, keeping the first', async () => {
    const request = writeRecord();
    const first = await post(request);
    const reused = await post({ ...request, outcome: 'succeeded' });
    expect(reused.status).toBe(422);
    expect(reused.body.error).toMatchObject({ code: 'idempotency_key_reused', details: { id: first.body.id } });
    const stored = await audits().find({ idempotencyKey: request.idempotencyKey }).toArray();
    expect(stored).toHaveLength(1);
    expect(stored[0]?.outcome).toBe('attempted');
  });

  it('takes the key from the Idempotency-Key header too, and refuses a header that contradicts the body', async () => {
    const { idempotencyKey: _key, ...request } = writeRecord();
    const first = await post(request, { 'Idempotency-Key': 'header-key-1' });
    expect(first.status).toBe(201);
    expect(first.body.idempotencyKey).toBe('header-key-1');
    const repeat = await post({ ...request, idempotencyKey: 'header-key-1' });
    expect(repeat.status).toBe(200);
    expect(repeat.body.id).toBe(first.body.id);
    const mismatch = await post({ ...request, idempotencyKey: 'other' }, { 'Idempotency-Key': 'header-key-1' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error.code).toBe('idempotency_key_mismatch');
  });

  it('scopes keys by the calling system', async () => {
    const request = writeRecord();
    const a = await post(request);
    const b = await post({ ...request, sourceSystemName: 'support-cli' });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).not.toBe(b.body.id);
  });

  it('stores exactly one record when the same request arrives many times at once', async () => {
    const request = writeRecord();
    const answers = await Promise.all(Array.from({ length: 25 }, () => post({ ...request })));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 200)).toHaveLength(24);
    expect(new Set(answers.map((answer) => answer.body.id as string)).size).toBe(1);
    expect(await audits().countDocuments({ idempotencyKey: request.idempotencyKey })).toBe(1);
  });
});

describe('GET /api/auditrecord', () => {
  // A resource of its own per test, so other tests' records do not interfere.
  const resource = (id: string, operation = 'update') => ({ type: 'patient', id, operation });
  const at = (minute: number) => new Date(Date.UTC(2026, 4, 1, 12, minute)).toISOString();

  it('finds records by resource, correlation id and instance id, newest first', async () => {
    await post(writeRecord({ resource: resource('r-query'), timestamp: at(1), correlationId: 'corr-q', instanceId: 'inst-q1' }));
    await post(writeRecord({ resource: resource('r-query'), timestamp: at(3), correlationId: 'corr-q', instanceId: 'inst-q2', outcome: 'succeeded' }));
    await post(writeRecord({ resource: resource('r-other'), timestamp: at(2), correlationId: 'corr-q', instanceId: 'inst-q2' }));

    const byResource = await list({ resourceId: 'r-query' });
    expect(byResource.status).toBe(200);
    expect((byResource.body.items as { timestamp: string }[]).map((r) => r.timestamp)).toEqual([at(3), at(1)]);
    expect(byResource.body.continuationToken).toBeNull();

    const byCorrelation = await list({ correlationId: 'corr-q' });
    expect((byCorrelation.body.items as { timestamp: string }[]).map((r) => r.timestamp)).toEqual([at(3), at(2), at(1)]);

    const byInstance = await list({ instanceId: 'inst-q2' });
    expect((byInstance.body.items as { resourceId: string }[]).map((r) => r.resourceId)).toEqual(['r-query', 'r-other']);

    const combined = await list({ correlationId: 'corr-q', instanceId: 'inst-q2', resourceId: 'r-other' });
    expect(combined.body.items).toHaveLength(1);

    const none = await list({ resourceId: 'r-nothing' });
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ items: [], continuationToken: null });
  });

  it('filters by a time range: from inclusive, to exclusive', async () => {
    for (const minute of [10, 11, 12, 13]) await post(writeRecord({ resource: resource('r-range'), timestamp: at(minute) }));
    const answer = await list({ resourceId: 'r-range', from: at(11), to: at(13) });
    expect((answer.body.items as { timestamp: string }[]).map((r) => r.timestamp)).toEqual([at(12), at(11)]);
    const open = await list({ resourceId: 'r-range', from: at(12) });
    expect(open.body.items).toHaveLength(2);
  });

  it('pages through every record exactly once, even while newer records arrive', async () => {
    // Several records share a timestamp, so the order relies on the _id tie-breaker.
    for (let i = 0; i < 11; i += 1) await post(writeRecord({ resource: resource('r-pages'), timestamp: at(20 + Math.floor(i / 3)) }));
    const expected = ((await list({ resourceId: 'r-pages', limit: '100' })).body.items as { id: string }[]).map((r) => r.id);
    expect(expected).toHaveLength(11);

    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const query: Record<string, string> = { resourceId: 'r-pages', limit: '4' };
      if (token !== null) query.continuationToken = token;
      const answer = await list(query);
      expect(answer.status).toBe(200);
      expect(answer.body.items.length).toBeLessThanOrEqual(4);
      seen.push(...(answer.body.items as { id: string }[]).map((r) => r.id));
      token = answer.body.continuationToken;
      pages += 1;
      // A newer record arriving mid-listing must not shift later pages.
      await post(writeRecord({ resource: resource('r-pages'), timestamp: at(50 + pages) }));
    } while (token !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(expected);
  });

  it('refuses a continuation token that is garbage, altered or from another query', async () => {
    for (let i = 0; i < 3; i += 1) await post(writeRecord({ resource: resource('r-token'), timestamp: at(30 + i) }));
    const first = await list({ resourceId: 'r-token', limit: '1' });
    const token: string = first.body.continuationToken;
    expect(typeof token).toBe('string');

    const garbage = await list({ resourceId: 'r-token', continuationToken: 'not-a-token' });
    expect(garbage.status).toBe(400);
    expect(garbage.body.error.code).toBe('invalid_continuation_token');

    const altered = await list({ resourceId: 'r-token', continuationToken: `A${token.slice(1)}` });
    expect(altered.status).toBe(400);

    const otherQuery = await list({ resourceId: 'r-pages', continuationToken: token });
    expect(otherQuery.status).toBe(400);
    expect(otherQuery.body.error.code).toBe('invalid_continuation_token');

    const sameQueryOtherLimit = await list({ resourceId: 'r-token', limit: '5', continuationToken: token });
    expect(sameQueryOtherLimit.status).toBe(200);
    expect(sameQueryOtherLimit.body.items).toHaveLength(2);
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '101' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ from: 'last week' }, 'from'],
    [{ to: '2026-13-01T00:00:00Z' }, 'to'],
    [{ from: at(5), to: at(5) }, 'to'],
    [{ resourceId: 'Jane Doe' }, 'resourceId'],
    [{ patientName: 'Jane' }, 'patientName'],
  ])('refuses the query %p naming %s', async (query, field) => {
    const answer = await list(query);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('validation_failed');
    expect((answer.body.error.details as { field: string }[]).map((detail) => detail.field)).toEqual([field]);
  });

  it('refuses a parameter given twice', async () => {
    const answer = await invoke(fn('listAuditRecords'), { url: 'http://127.0.0.1/api/auditrecord?resourceId=a&resourceId=b' });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details[0].field).toBe('resourceId');
  });

  it('refuses a parameter named __proto__, which the host loses from request.query', async () => {
    // `query: {}` is request.query as the host builds it: assigned onto a plain object, `__proto__` is gone.
    const answer = await invoke(fn('listAuditRecords'), { url: 'http://127.0.0.1/api/auditrecord?__proto__=x', query: {} });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details[0].field).toBe('__proto__');
  });
});
