/**
 * The rotation of patient-app's own secrets (docs/key-rotation.md, "The payload and idempotency
 * keys"), end to end under two devhosts: patient-app runs with payload key A and HMAC key A, is
 * restarted with the B keys current and the A keys previous (phase b), then with the B keys alone
 * (phase c). Across the switch:
 * - a repeat of a request sent before it answers the first write (same patient, same operation, no
 *   second patient), and the same key with another body is still 422;
 * - a paging token from before it pages;
 * - a write sealed under A and still in flight (audit-app unavailable, so it answered 202 and
 *   retries) is persisted by the restarted app, and a write that failed under A is restarted by
 *   support after it;
 * - once A is dropped, a support restart of a write sealed under A ends rejected, the task hub
 *   saying which key it needed; the operations link of a write applied under A still answers,
 *   without the document it can no longer open.
 */
import { randomBytes } from 'node:crypto';

import { keyIdOf } from '../../src/security/payload-cipher';
import { settled } from '../support/drills';
import { type Answer, call } from '../support/stack';
import { useSupportStack } from '../support/support-key';

jest.setTimeout(90_000);

const keys = {
  payloadA: randomBytes(32),
  payloadB: randomBytes(32),
  hmacA: randomBytes(32),
  hmacB: randomBytes(32),
};
const b64 = (key: Buffer): string => key.toString('base64');
const { stack, proxy, support, ended } = useSupportStack('secret-rotation', {
  PAYLOAD_ENCRYPTION_KEY: b64(keys.payloadA),
  IDEMPOTENCY_HMAC_KEY: b64(keys.hmacA),
});

/** The write's stored instance (input and history as the task hub keeps them), as text. */
async function hubText(instanceId: string): Promise<string> {
  const hub = stack.taskHubDb();
  const texts: string[] = [];
  for (const { name } of await hub.listCollections().toArray()) {
    if (!name.startsWith(stack.patients().hubName)) continue;
    const docs = await hub.collection(name).find({}).toArray();
    texts.push(...docs.map((doc) => JSON.stringify(doc)).filter((text) => text.includes(instanceId)));
  }
  return texts.join('\n');
}

const family = `Rotata${randomBytes(3).toString('hex')}`;
const person = (firstName: string): Record<string, string> => ({ firstName, lastName: family, gender: 'other', dateOfBirth: '1980-02-03', postCode: '4000' });
const idemKey = `rotation-${randomBytes(6).toString('hex')}`;
const create = (body: unknown, headers: Record<string, string> = {}): Promise<Answer> => call(stack, 'POST', '/api/patient', { body, headers });
const search = (token?: string): Promise<Answer> =>
  call(stack, 'POST', `/api/patient/search?pageSize=1${token === undefined ? '' : `&continuationToken=${encodeURIComponent(token)}`}`, { body: { lastName: family } });
const follow = (answer: Answer): Promise<Answer> => settled((location) => call(stack, 'GET', location), answer, 60_000);

describe('rotating the payload and idempotency keys', () => {
  const before = { patientId: '', operationId: '', token: '', firstPage: '', inFlight: '', failed: [] as string[] };

  it('under key A: a write with an Idempotency-Key, a paging token, writes that failed and one left in flight', async () => {
    const first = await follow(await create(person('Idem'), { 'idempotency-key': idemKey }));
    expect(first.status).toBe(201);
    before.patientId = String(first.body.id);
    before.operationId = String(first.headers.get('x-operation-id'));
    for (const name of ['Page1', 'Page2']) expect((await follow(await create(person(name)))).status).toBe(201);
    const page = await search();
    expect(page.status).toBe(200);
    before.firstPage = String(page.body[0]?.id);
    before.token = String(page.headers.get('x-continuation-token'));

    // Two writes whose audit "attempted" never gets through: they end 503, unapplied, restartable.
    proxy.setRule(() => 'unavailable');
    const failing = await Promise.all([create(person('Failed1')), create(person('Failed2'))]);
    before.failed = failing.map((answer) => String(answer.headers.get('x-operation-id')));
    proxy.setRule((record) => (before.failed.includes(String(record['correlationId'])) ? 'unavailable' : 'forward'));
    for (const answer of failing) expect((await follow(answer)).status).toBe(503);

    // One write left in flight: audit-app refuses its records until the app has restarted.
    proxy.setRule(() => 'unavailable');
    const running = await create(person('InFlight'));
    expect(running.status).toBe(202);
    before.inFlight = String(running.headers.get('x-operation-id'));
    proxy.setRule((record) => (String(record['correlationId']) === before.inFlight ? 'unavailable' : 'forward'));
    expect(await hubText(before.inFlight)).toContain(keyIdOf(keys.payloadA));
  });

  it('phase b (B current, A previous): the write in flight completes, a repeat answers the first write, the old token pages', async () => {
    const seenBefore = proxy.seen.length;
    await stack.restartPatients(
      {
        PAYLOAD_ENCRYPTION_KEY: b64(keys.payloadB),
        PAYLOAD_ENCRYPTION_PREVIOUS_KEYS: b64(keys.payloadA),
        IDEMPOTENCY_HMAC_KEY: b64(keys.hmacB),
        IDEMPOTENCY_HMAC_PREVIOUS_KEYS: b64(keys.hmacA),
      },
      // Only now may its records through: whatever persists it runs in the restarted app.
      () => proxy.setRule(() => 'forward'),
    );

    const inFlight = await follow(await call(stack, 'GET', `/api/operations/${before.inFlight}`));
    expect(inFlight.status).toBe(201);
    expect(inFlight.body.firstName).toBe('InFlight');
    expect(proxy.seen.slice(seenBefore).some((record) => record['correlationId'] === before.inFlight && record['outcome'] === 'attempted')).toBe(true);

    const repeat = await follow(await create(person('Idem'), { 'idempotency-key': idemKey }));
    expect(repeat.status).toBe(201);
    expect(repeat.body.id).toBe(before.patientId);
    expect(repeat.headers.get('x-operation-id')).toBe(before.operationId);
    const everyone = await call(stack, 'POST', '/api/patient/search?pageSize=50', { body: { lastName: family } });
    expect(JSON.stringify(everyone.body).split('"Idem"').length - 1).toBe(1);
    const mismatch = await create(person('Other'), { 'idempotency-key': idemKey });
    expect(mismatch.status).toBe(422);

    const next = await search(before.token);
    expect(next.status).toBe(200);
    expect(JSON.stringify(next.body)).not.toContain(before.firstPage);

    const fresh = await follow(await create(person('Fresh'), { 'idempotency-key': `${idemKey}-new` }));
    expect(fresh.status).toBe(201);
    expect(await hubText(String(fresh.headers.get('x-operation-id')))).toContain(keyIdOf(keys.payloadB));

    const [restartable] = before.failed;
    const restart = await support('POST', `/writes/${restartable}/restart`, { reason: 'key rotation drill' });
    expect(restart.status).toBe(202);
    const detail = await ended(String(restart.body.newInstanceId));
    expect(detail.body.write).toMatchObject({ status: 'completed', outcome: 'succeeded' });
  });

  it('phase c (B alone): a write sealed under A can no longer be opened and ends rejected, naming its key', async () => {
    await stack.restartPatients({
      PAYLOAD_ENCRYPTION_KEY: b64(keys.payloadB),
      PAYLOAD_ENCRYPTION_PREVIOUS_KEYS: '',
      IDEMPOTENCY_HMAC_KEY: b64(keys.hmacB),
      IDEMPOTENCY_HMAC_PREVIOUS_KEYS: '',
    });
    const restartable = before.failed[1] ?? '';
    const restart = await support('POST', `/writes/${restartable}/restart`, { reason: 'key rotation drill, A dropped' });
    expect(restart.status).toBe(202);
    const newId = String(restart.body.newInstanceId);
    const detail = await ended(newId);
    expect(detail.body.write).toMatchObject({ status: 'completed' });
    expect(detail.body.write.outcome).not.toBe('succeeded');
    const records = await stack.auditDb().collection('audits').find({ correlationId: newId }).toArray();
    expect(records.map((record) => [record['outcome'], record['reason']])).toContainEqual(['rejected', 'rejected']);
    expect(await hubText(newId)).toContain(`sealed with key ${keyIdOf(keys.payloadA)}, which is neither PAYLOAD_ENCRYPTION_KEY nor one of PAYLOAD_ENCRYPTION_PREVIOUS_KEYS`);
    // The consumer's link to the failed write follows the restart to its answer.
    const answer = await call(stack, 'GET', `/api/operations/${restartable}`);
    expect(answer.status).toBe(503);
    expect(answer.body.error).toMatchObject({ code: 'dependency_unavailable', details: { step: 'persist' } });
    // A write applied under A still answers its link, with ids, ETag and Location but no document.
    const old = await call(stack, 'GET', `/api/operations/${before.operationId}`);
    expect(old.status).toBe(201);
    expect(old.body).toMatchObject({ id: before.patientId });
    expect(old.body.firstName).toBeUndefined();
    expect(old.headers.get('location')).toBe(`/api/patient/${before.patientId}`);
    // Tokens signed under A are refused once A is dropped.
    expect((await search(before.token)).status).toBe(400);
  });
});
