/**
 * patient-app end to end: audit-app and patient-app, built, each under its own devhost (real
 * worker processes, real HTTP, Azure's key checks, the Durable engine on the embedded store), the
 * real durable-functions client and orchestrations. Every route and status of the API contract.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { parse } from 'yaml';

import { loadOpenApi,OpenApiChecker } from '../support/openapi';
import { type Answer, answers, call, observed, useStack } from '../support/stack';

const stack = useStack();

const ada = {
  firstName: 'Philippa',
  lastName: 'Wrenfield-Oakes',
  gender: 'female',
  dateOfBirth: '1984-03-17',
  postCode: '7310',
  insuranceNumber: 'INS-5519-2837',
  preferredContactNumber: '+61 400 918 273',
};
const personalValues = Object.values(ada).filter((v) => v.length > 5);

const testResult = {
  performer: 'North Lab',
  orderReference: 'ORD-4411',
  observations: [{ id: 'o-1', code: 'HBA1C', measurement: '5.4 %', interpretation: 'normal', issued: '2026-02-03T04:05:06Z', status: 'final' }],
};

async function createPatient(body: unknown = ada, headers: Record<string, string> = {}): Promise<Answer> {
  return call(stack, 'POST', '/api/patient', { body, headers });
}

describe('patient-app over HTTP', () => {
  it('answers health anonymously and refuses the API without a key', async () => {
    const health = await call(stack, 'GET', '/api/health', { key: null });
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    expect((await call(stack, 'POST', '/api/patient', { body: ada, key: null })).status).toBe(401);
    expect((await call(stack, 'POST', '/api/patient/search', { body: {}, key: 'wrong' })).status).toBe(401);
  });

  it('creates a patient (201, Location, ETag) and reads it back (200, same ETag)', async () => {
    const created = await createPatient();
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ ...ada, id: expect.stringMatching(/^[0-9a-f-]{36}$/), lastUpdated: expect.any(String) });
    expect(created.headers.get('location')).toBe(`/api/patient/${created.body.id}`);
    expect(created.headers.get('etag')).toBe('"1"');
    const read = await call(stack, 'GET', created.headers.get('location')!);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    expect(read.headers.get('etag')).toBe('"1"');
  });

  it('refuses invalid input with every failing field, before any orchestration starts', async () => {
    const instances = stack.taskHubDb().collection(`${stack.patients().hubName}_instances`);
    const instancesBefore = await instances.countDocuments();
    expect(instancesBefore).toBeGreaterThan(0);
    const invalid = await createPatient({ firstName: '', gender: 'robot', dateOfBirth: 'yesterday', postCode: '12', shoeSize: 44 });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('validation_failed');
    expect((invalid.body.error.details as { field: string }[]).map((d) => d.field).sort()).toEqual(['dateOfBirth', 'firstName', 'gender', 'postCode', 'shoeSize']);
    expect((await createPatient({ ...ada, id: '6f1c1f44-5d0b-4a8e-9a57-0d5f3c3e8c11' })).status).toBe(400);
    expect((await call(stack, 'POST', '/api/patient', { body: '{"firstName":', headers: {} })).body.error.code).toBe('invalid_json');
    expect((await call(stack, 'POST', '/api/patient', { body: ada, headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await call(stack, 'POST', '/api/patient', { body: { ...ada, fullName: 'x'.repeat(70_000) } })).status).toBe(413);
    expect(await instances.countDocuments()).toBe(instancesBefore);
  });

  it('replaces a patient with If-Match (200, next ETag), refuses a stale If-Match (412) and an unknown id (404)', async () => {
    const created = await createPatient();
    const url = `/api/patient/${created.body.id}`;
    const { insuranceNumber: _dropped, ...withoutInsurance } = ada;
    const updated = await call(stack, 'PUT', url, { body: { ...withoutInsurance, postCode: '7311' }, headers: { 'if-match': '"1"' } });
    expect(updated.status).toBe(200);
    expect(updated.headers.get('etag')).toBe('"2"');
    expect(updated.body.postCode).toBe('7311');
    expect(updated.body.insuranceNumber).toBeUndefined();
    const stale = await call(stack, 'PUT', url, { body: ada, headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    expect(stale.body.error.details.currentETag).toBe('"2"');
    expect((await call(stack, 'PUT', '/api/patient/3b2f3f0e-8a4c-4c1e-9d55-5c3c7a0e2b11', { body: ada })).status).toBe(404);
    expect((await call(stack, 'GET', '/api/patient/not-a-uuid')).status).toBe(404);
    expect((await call(stack, 'PUT', url, { body: { ...ada, id: '3b2f3f0e-8a4c-4c1e-9d55-5c3c7a0e2b11' } })).status).toBe(400);
  });

  it('lets exactly one of 20 concurrent PUTs with the same If-Match win; the rest get 412', async () => {
    const created = await createPatient();
    const url = `/api/patient/${created.body.id}`;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(stack, 'PUT', url, { body: { ...ada, postCode: `${8000 + i}` }, headers: { 'if-match': '"1"' } })),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, ...Array<number>(19).fill(412)]);
    const winner = answers.find((a) => a.status === 200)!;
    const read = await call(stack, 'GET', url);
    expect(read.headers.get('etag')).toBe('"2"');
    expect(read.body.postCode).toBe(winner.body.postCode);
  });

  it('deletes a patient (204), then reads 404 and a second delete 404', async () => {
    const created = await createPatient();
    const url = `/api/patient/${created.body.id}`;
    expect((await call(stack, 'DELETE', url, { headers: { 'if-match': '"1"' } })).status).toBe(204);
    expect((await call(stack, 'GET', url)).status).toBe(404);
    expect((await call(stack, 'DELETE', url)).status).toBe(404);
  });

  it('adds, lists and reads test results; 404 for an unknown patient or test; lists are always arrays', async () => {
    const created = await createPatient();
    const base = `/api/patient/${created.body.id}/tests`;
    expect((await call(stack, 'GET', base)).body).toEqual([]);
    const added = await call(stack, 'POST', base, { body: testResult });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ ...testResult, observations: [{ ...testResult.observations[0], issued: '2026-02-03T04:05:06.000Z' }], id: expect.any(String), patientId: created.body.id, lastUpdated: expect.any(String) });
    expect(added.headers.get('location')).toBe(`${base}/${added.body.id}`);
    const one = await call(stack, 'GET', `${base}/${added.body.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(added.body);
    const list = await call(stack, 'GET', base);
    expect(list.status).toBe(200);
    expect(list.body).toEqual([added.body]);
    const unknown = '3b2f3f0e-8a4c-4c1e-9d55-5c3c7a0e2b12';
    expect((await call(stack, 'POST', `/api/patient/${unknown}/tests`, { body: testResult })).status).toBe(404);
    expect((await call(stack, 'GET', `/api/patient/${unknown}/tests`)).status).toBe(404);
    expect((await call(stack, 'GET', `${base}/${unknown}`)).status).toBe(404);
    const invalid = await call(stack, 'POST', base, { body: { ...testResult, observations: [{ ...testResult.observations[0], issued: 'soon' }] } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details[0].field).toBe('observations[0].issued');
  });

  it('searches by any field and date-of-birth range over HTTP, paged, with [] when nothing matches', async () => {
    const family = `Searchfam${Date.now()}`;
    const ids: string[] = [];
    for (const dateOfBirth of ['1990-01-01', '1990-06-30', '1990-12-31', '1991-01-01']) {
      ids.push((await createPatient({ ...ada, lastName: family, dateOfBirth })).body.id);
    }
    const in1990 = await call(stack, 'POST', '/api/patient/search', { body: { lastName: family, dateOfBirthFrom: '1990-01-01', dateOfBirthTo: '1990-12-31' } });
    expect(in1990.status).toBe(200);
    expect((in1990.body as { dateOfBirth: string }[]).map((p) => p.dateOfBirth).sort()).toEqual(['1990-01-01', '1990-06-30', '1990-12-31']);
    const page1 = await call(stack, 'POST', '/api/patient/search?pageSize=3', { body: { lastName: family } });
    const token = page1.headers.get('x-continuation-token');
    expect(page1.body).toHaveLength(3);
    expect(token).toBeTruthy();
    const page2 = await call(stack, 'POST', `/api/patient/search?pageSize=3&continuationToken=${encodeURIComponent(token!)}`, { body: { lastName: family } });
    expect(page2.body).toHaveLength(1);
    expect(page2.headers.get('x-continuation-token')).toBeNull();
    expect([...page1.body, ...page2.body].map((p: { id: string }) => p.id).sort()).toEqual([...ids].sort());
    const other = await call(stack, 'POST', `/api/patient/search?continuationToken=${encodeURIComponent(token!)}`, { body: { lastName: 'Else' } });
    expect(other.status).toBe(400);
    const none = await call(stack, 'POST', '/api/patient/search', { body: { lastName: 'Nobody-at-all' } });
    expect(none.status).toBe(200);
    expect(none.body).toEqual([]);
    expect((await call(stack, 'POST', '/api/patient/search', { body: { nickname: 'x' } })).status).toBe(400);
  });

  it('answers a repeated Idempotency-Key with the first result and writes nothing again; another body is 422', async () => {
    const key = `idem-${Date.now()}`;
    const first = await createPatient(ada, { 'idempotency-key': key });
    const again = await createPatient(ada, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('x-operation-id')).toBe(first.headers.get('x-operation-id'));
    expect(await stack.patientDb().collection('patientVersions').countDocuments({ _shardKey: first.body.id })).toBe(1);
    const other = await createPatient({ ...ada, postCode: '9999' }, { 'idempotency-key': key });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
  });

  it('answers the operation link of a finished write like the write, and 404 for an unknown operation', async () => {
    const created = await createPatient();
    const operationId = created.headers.get('x-operation-id')!;
    const op = await call(stack, 'GET', `/api/operations/${operationId}`);
    expect(op.status).toBe(201);
    expect(op.body).toEqual(created.body);
    expect((await call(stack, 'GET', '/api/operations/6c8f2a10-1b2c-4d3e-8f90-a1b2c3d4e5f6')).status).toBe(404);
    expect((await call(stack, 'GET', '/api/operations/runtime')).status).toBe(404);
  });

  it('audits every write and read in audit-app, with ids and codes only', async () => {
    const created = await createPatient();
    await call(stack, 'GET', `/api/patient/${created.body.id}`);
    await call(stack, 'POST', '/api/patient/search', { body: { lastName: ada.lastName } });
    const all = await stack.auditDb().collection('audits').find({}).toArray();
    const patientId = created.body.id as string;
    const forPatient = all.filter((r) => JSON.stringify(r).includes(patientId));
    expect(forPatient.map((r) => String(r['outcome'])).sort()).toEqual(expect.arrayContaining(['attempted', 'succeeded', 'read']));
    const text = JSON.stringify(all);
    for (const value of personalValues) expect(text).not.toContain(value);
  });

  it('leaves no submitted personal value in clear text in any task hub collection or log line', async () => {
    const hub = stack.taskHubDb();
    const collections = await hub.listCollections().toArray();
    expect(collections.length).toBeGreaterThan(0);
    let documents = 0;
    for (const { name } of collections) {
      const docs = await hub.collection(name).find({}).toArray();
      documents += docs.length;
      const text = JSON.stringify(docs);
      for (const value of [...personalValues, testResult.observations[0]!.measurement]) expect({ collection: name, found: text.includes(value) }).toEqual({ collection: name, found: false });
    }
    expect(documents).toBeGreaterThan(0);
    const logText = stack.logs.map((entry) => entry.message).join('\n');
    expect(logText.length).toBeGreaterThan(0);
    for (const value of personalValues) expect(logText).not.toContain(value);
  });

  it("answers the README's create-patient curl as the README shows", async () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    const example = /-d '(\{[^']+\})'[^\n]*\n\s*http:\/\/127\.0\.0\.1:7071(\/api\/patient)\n([\s\S]*?)\n```/.exec(readme);
    expect(example).not.toBeNull();
    const [, body, route, shown] = example!;
    const shownStatus = Number(/HTTP\/1\.1 (\d{3})/.exec(shown!)?.[1]);
    const shownBody = JSON.parse(shown!.trim().split('\n').pop()!) as Record<string, unknown>;
    const answer = await call(stack, 'POST', route!, { body: JSON.parse(body!) });
    expect(answer.status).toBe(shownStatus);
    expect(Object.keys(answer.body as object).sort()).toEqual(Object.keys(shownBody).sort());
    expect(answer.headers.get('etag')).toBe('"1"');
  });

  it('serves only statuses the OpenAPI document lists for each route, with the bodies it describes', () => {
    const spec = parse(readFileSync(path.join(__dirname, '..', '..', 'openapi.yaml'), 'utf8')) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const undocumented = [...observed].filter((entry) => {
      const [method, route, status] = entry.split(' ') as [string, string, string];
      return spec.paths[route]?.[method]?.responses[status] === undefined;
    });
    expect(undocumented).toEqual([]);
    expect(observed.size).toBeGreaterThan(20);
    // And each answer's body validates against the schema the document gives for its status.
    const checker = new OpenApiChecker(loadOpenApi('openapi.yaml'));
    expect(answers.flatMap((answer) => checker.problems(answer))).toEqual([]);
  });
});
