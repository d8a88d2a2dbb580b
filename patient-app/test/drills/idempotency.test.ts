/**
 * Fault drill: the same `Idempotency-Key` sent many times at once, end to end under two devhosts
 * (real HTTP, the Durable engine on the embedded store, audit-app). Whatever the interleaving, a
 * key makes exactly one write: one patient version or test result in the store, one audit trail,
 * one orchestration instance with one execution; every concurrent answer is the first write's
 * answer (same status, body, ETag and operation id). The same key with another request is `422
 * idempotency_key_reused`, and when two bodies race for one key, exactly one of them wins it.
 *
 * DRILL_IDEMPOTENCY_CONCURRENCY sets how many copies are sent at once (default 30).
 */
import { randomUUID } from 'node:crypto';

import { type Answer, call, useStack } from '../support/stack';

const stack = useStack();
const concurrency = Number(process.env['DRILL_IDEMPOTENCY_CONCURRENCY'] ?? 30);

const patient = {
  firstName: 'Isolde',
  lastName: 'Farquharson',
  gender: 'female',
  dateOfBirth: '1969-11-02',
  postCode: '4870',
};
const testResult = {
  performer: 'Harbour Lab',
  orderReference: 'ORD-7781',
  observations: [
    {
      id: 'o-1',
      code: 'K',
      measurement: '4.1 mmol/L',
      interpretation: 'normal',
      issued: '2026-05-06T07:08:09Z',
      status: 'final',
    },
  ],
};

/** The answer a write settles on: a `202` (the write outlived the request's wait) is followed to its end. */
async function settled(answer: Answer): Promise<Answer> {
  let current = answer;
  for (let attempt = 0; current.status === 202 && attempt < 120; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    current = await call(stack, 'GET', answer.headers.get('location')!);
  }
  return current;
}

/** Sends `count` copies of one request at once and waits for every answer to settle. */
async function burst(count: number, send: () => Promise<Answer>): Promise<Answer[]> {
  const answers = await Promise.all(Array.from({ length: count }, send));
  return Promise.all(answers.map(settled));
}

/** Every answer is the same status and body, under one operation id and ETag. */
function expectOneAnswer(answers: Answer[], status: number): Answer {
  const first = answers[0]!;
  expect(first.status).toBe(status);
  for (const answer of answers) {
    expect({ status: answer.status, body: answer.body }).toEqual({ status: first.status, body: first.body });
    expect(answer.headers.get('x-operation-id')).toBe(first.headers.get('x-operation-id'));
    expect(answer.headers.get('etag')).toBe(first.headers.get('etag'));
  }
  return first;
}

async function auditOutcomes(operationId: string): Promise<string[]> {
  const records = await stack.auditDb().collection('audits').find({ correlationId: operationId }).toArray();
  return records.map((record) => String(record['outcome'])).sort();
}

/** How many executions the write's orchestration instance has had (a restarted instance has two). */
async function executionsOf(operationId: string): Promise<number> {
  const hub = stack.patients().hubName;
  const instances = await stack
    .taskHubDb()
    .collection(`${hub}_instances`)
    .countDocuments({ _id: operationId as never });
  if (instances === 0) return 0;
  const executions = await stack
    .taskHubDb()
    .collection(`${hub}_history`)
    .distinct('executionId', { instanceId: operationId });
  return executions.length;
}

async function counts(): Promise<{ versions: number; tests: number; instances: number; audits: number }> {
  return {
    versions: await stack.patientDb().collection('patientVersions').countDocuments(),
    tests: await stack.patientDb().collection('tests').countDocuments(),
    instances: await stack.taskHubDb().collection(`${stack.patients().hubName}_instances`).countDocuments(),
    audits: await stack.auditDb().collection('audits').countDocuments(),
  };
}

/** The write happened once: one instance with one execution, and its audit trail once. */
async function expectOneWrite(operationId: string): Promise<void> {
  expect(await executionsOf(operationId)).toBe(1);
  expect(await auditOutcomes(operationId)).toEqual(['attempted', 'succeeded']);
}

describe(`the same Idempotency-Key sent ${concurrency} times at once`, () => {
  it('creates one patient; every answer is the same 201', async () => {
    const before = await counts();
    const key = `drill-create-${randomUUID()}`;
    const answers = await burst(concurrency, () =>
      call(stack, 'POST', '/api/patient', { body: patient, headers: { 'idempotency-key': key } }),
    );
    const first = expectOneAnswer(answers, 201);
    expect(first.body).toEqual({ ...patient, id: expect.any(String), lastUpdated: expect.any(String) });
    expect(first.headers.get('etag')).toBe('"1"');
    const operationId = first.headers.get('x-operation-id')!;
    await expectOneWrite(operationId);
    expect(await stack.patientDb().collection('patientVersions').countDocuments({ _shardKey: first.body.id })).toBe(1);
    expect(await counts()).toEqual({
      ...before,
      versions: before.versions + 1,
      instances: before.instances + 1,
      audits: before.audits + 2,
    });
    // A late repeat still answers the first write, and a read agrees with it.
    const late = await call(stack, 'POST', '/api/patient', { body: patient, headers: { 'idempotency-key': key } });
    expectOneAnswer([first, late], 201);
    expect((await call(stack, 'GET', `/api/patient/${first.body.id}`)).body).toEqual(first.body);
  });

  it('replaces a patient once with If-Match; every answer is the same 200, none is 412', async () => {
    const created = await call(stack, 'POST', '/api/patient', { body: patient });
    expect(created.status).toBe(201);
    const before = await counts();
    const key = `drill-update-${randomUUID()}`;
    const url = `/api/patient/${created.body.id}`;
    const replacement = { ...patient, postCode: '4871', preferredContactNumber: '+61 7 4000 0000' };
    const answers = await burst(concurrency, () =>
      call(stack, 'PUT', url, { body: replacement, headers: { 'idempotency-key': key, 'if-match': '"1"' } }),
    );
    const first = expectOneAnswer(answers, 200);
    expect(first.body).toEqual({ ...replacement, id: created.body.id, lastUpdated: expect.any(String) });
    expect(first.headers.get('etag')).toBe('"2"');
    await expectOneWrite(first.headers.get('x-operation-id')!);
    expect(await stack.patientDb().collection('patientVersions').countDocuments({ _shardKey: created.body.id })).toBe(
      2,
    );
    expect(await counts()).toEqual({
      ...before,
      versions: before.versions + 1,
      instances: before.instances + 1,
      audits: before.audits + 2,
    });
    const read = await call(stack, 'GET', url);
    expect(read.headers.get('etag')).toBe('"2"');
    expect(read.body).toEqual(first.body);
  });

  it('adds one test result; every answer is the same 201', async () => {
    const created = await call(stack, 'POST', '/api/patient', { body: patient });
    const before = await counts();
    const key = `drill-test-${randomUUID()}`;
    const url = `/api/patient/${created.body.id}/tests`;
    const answers = await burst(concurrency, () =>
      call(stack, 'POST', url, { body: testResult, headers: { 'idempotency-key': key } }),
    );
    const first = expectOneAnswer(answers, 201);
    expect(first.body).toMatchObject({
      performer: testResult.performer,
      patientId: created.body.id,
      id: expect.any(String),
    });
    await expectOneWrite(first.headers.get('x-operation-id')!);
    expect(await stack.patientDb().collection('tests').countDocuments({ _shardKey: created.body.id })).toBe(1);
    expect(await counts()).toEqual({
      ...before,
      tests: before.tests + 1,
      instances: before.instances + 1,
      audits: before.audits + 2,
    });
    const listed = await call(stack, 'GET', url);
    expect(listed.body).toEqual([first.body]);
  });

  it('deletes a patient once with If-Match; every answer is the same 204', async () => {
    const created = await call(stack, 'POST', '/api/patient', { body: patient });
    const before = await counts();
    const key = `drill-delete-${randomUUID()}`;
    const url = `/api/patient/${created.body.id}`;
    const answers = await burst(concurrency, () =>
      call(stack, 'DELETE', url, { headers: { 'idempotency-key': key, 'if-match': '"1"' } }),
    );
    expectOneAnswer(answers, 204);
    await expectOneWrite(answers[0]!.headers.get('x-operation-id')!);
    expect(await counts()).toEqual({
      ...before,
      versions: before.versions + 1,
      instances: before.instances + 1,
      audits: before.audits + 2,
    });
    expect((await call(stack, 'GET', url)).status).toBe(404);
  });

  it('lets one of two bodies racing for a key win it: its copies answer 201, the others 422, one patient is written', async () => {
    const before = await counts();
    const key = `drill-race-${randomUUID()}`;
    const bodies = [patient, { ...patient, postCode: '4872' }];
    const answers = await Promise.all(
      Array.from({ length: concurrency }, (_, i) =>
        call(stack, 'POST', '/api/patient', { body: bodies[i % 2], headers: { 'idempotency-key': key } })
          .then(settled)
          .then((answer) => ({ answer, body: i % 2 })),
      ),
    );
    const winners = answers.filter((a) => a.answer.status === 201);
    const winningBody = winners[0]!.body;
    expectOneAnswer(
      winners.map((a) => a.answer),
      201,
    );
    expect(winners[0]!.answer.body.postCode).toBe(bodies[winningBody]!.postCode);
    for (const { answer, body } of answers) {
      if (body === winningBody) expect(answer.status).toBe(201);
      else
        expect({ status: answer.status, code: answer.body.error.code }).toEqual({
          status: 422,
          code: 'idempotency_key_reused',
        });
    }
    await expectOneWrite(winners[0]!.answer.headers.get('x-operation-id')!);
    expect(await counts()).toEqual({
      ...before,
      versions: before.versions + 1,
      instances: before.instances + 1,
      audits: before.audits + 2,
    });
  });

  it('refuses the key with any other request (body, route, method, If-Match) with 422 and writes nothing', async () => {
    const key = `drill-other-${randomUUID()}`;
    const created = await call(stack, 'POST', '/api/patient', { body: patient, headers: { 'idempotency-key': key } });
    expect(created.status).toBe(201);
    const url = `/api/patient/${created.body.id}`;
    const before = await counts();
    const others: Answer[] = [
      await call(stack, 'POST', '/api/patient', {
        body: { ...patient, firstName: 'Isolda' },
        headers: { 'idempotency-key': key },
      }),
      await call(stack, 'PUT', url, { body: patient, headers: { 'idempotency-key': key } }),
      await call(stack, 'PUT', url, { body: patient, headers: { 'idempotency-key': key, 'if-match': '"1"' } }),
      await call(stack, 'DELETE', url, { headers: { 'idempotency-key': key } }),
      await call(stack, 'POST', `${url}/tests`, { body: testResult, headers: { 'idempotency-key': key } }),
    ];
    for (const answer of others) {
      expect({ status: answer.status, code: answer.body.error.code }).toEqual({
        status: 422,
        code: 'idempotency_key_reused',
      });
      expect(JSON.stringify(answer.body)).not.toContain(key);
    }
    expect(await counts()).toEqual(before);
    // Same key, same body in another key order: the same request, answered from the first write.
    const reordered = Object.fromEntries(Object.entries(patient).reverse());
    expectOneAnswer(
      [created, await call(stack, 'POST', '/api/patient', { body: reordered, headers: { 'idempotency-key': key } })],
      201,
    );
  });

  it('scopes a key to its calling system: another system with the same key makes its own write', async () => {
    const key = `drill-scope-${randomUUID()}`;
    const send = (system: string): Promise<Answer> =>
      call(stack, 'POST', '/api/patient', {
        body: patient,
        headers: { 'idempotency-key': key, 'x-caller-system': system },
      });
    const [a, b] = await Promise.all([send('drill-system-a'), send('drill-system-b')]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).not.toBe(b.body.id);
    expect(a.headers.get('x-operation-id')).not.toBe(b.headers.get('x-operation-id'));
  });
});
