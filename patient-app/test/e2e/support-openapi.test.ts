/**
 * The support API answers as patient-app/support-openapi.yaml says, under two devhosts on the
 * embedded store: every route in its successes and its refusals (a write that succeeds, one
 * terminated while its audit attempt is retried behind a proxy answering 503, its restart, exports,
 * purges one and many, an erasure, paging, bad queries, ids, keys, users, bodies and reasons, the
 * audit register refusing an action). Every answer is recorded and checked against the document: the status is
 * listed for the route, required headers are there, and the body validates against the schema.
 */
import { randomUUID } from 'node:crypto';

import { loadOpenApi, OpenApiChecker, type SeenAnswer, supportRouteOf } from '../support/openapi';
import { type Answer, call } from '../support/stack';
import { useSupportStack } from '../support/support-key';

jest.setTimeout(90_000);

const { stack, proxy, supportKey } = useSupportStack('support-openapi');

const checker = new OpenApiChecker(loadOpenApi('support-openapi.yaml'));
const seen: SeenAnswer[] = [];

interface SupportOptions {
  body?: unknown;
  key?: string | null;
  user?: string | null;
  headers?: Record<string, string>;
}

/** A request to the support API, as support staff send it unless `options` say otherwise; recorded. */
async function support(method: string, pathAndQuery: string, options: SupportOptions = {}): Promise<Answer> {
  const user = options.user === undefined ? 'support.tester' : options.user;
  const answer = await call(stack, method, `/api/support${pathAndQuery}`, {
    key: options.key === undefined ? supportKey : options.key,
    headers: { ...(user === null ? {} : { 'x-caller-user': user }), ...options.headers },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  seen.push({
    method,
    route: supportRouteOf(pathAndQuery),
    status: answer.status,
    headers: answer.headers,
    body: answer.body,
  });
  return answer;
}

const act = (path: string, reason = 'contract check') => support('POST', path, { body: { reason } });

/** Polls a write until it has ended (bounded: the retry policies end every write within a minute). */
async function ended(instanceId: string): Promise<Answer> {
  for (let attempt = 0; attempt < 240; attempt += 1) {
    const answer = await support('GET', `/writes/${instanceId}`);
    if (answer.status === 200 && answer.body.write.status !== 'running') return answer;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`write ${instanceId} did not end`);
}

const patient = {
  firstName: 'Leocadia',
  lastName: 'Brandvold',
  gender: 'female',
  dateOfBirth: '1979-08-14',
  postCode: '5T1X',
};

describe('the support API, by support-openapi.yaml', () => {
  let succeeded = '';
  let terminated = '';
  let restarted = '';

  it('lists, pages and shows writes, and refuses bad queries, ids and keys', async () => {
    const first = await call(stack, 'POST', '/api/patient', { body: patient });
    const second = await call(stack, 'POST', '/api/patient', { body: { ...patient, firstName: 'Second' } });
    expect([first.status, second.status]).toEqual([201, 201]);
    succeeded = first.headers.get('x-operation-id') ?? '';

    const detail = await ended(succeeded);
    expect(detail.body.write).toMatchObject({ instanceId: succeeded, status: 'completed', outcome: 'succeeded' });
    expect(detail.body.auditRecords.length).toBeGreaterThanOrEqual(2);

    const page = await support('GET', '/writes?kind=createPatient&status=completed,running&pageSize=1');
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(1);
    expect(page.body.continuationToken).toEqual(expect.any(String));
    const next = await support(
      'GET',
      `/writes?kind=createPatient&status=completed,running&pageSize=1&continuationToken=${encodeURIComponent(page.body.continuationToken)}`,
    );
    expect([next.status, next.body.items.length, next.body.continuationToken]).toEqual([200, 1, null]);

    const refused = await Promise.all([
      support('GET', '/writes?status=lost&pageSize=500'),
      support('GET', '/writes?continuationToken=not-a-token'),
      support('GET', '/writes/no-such-write'),
      support('GET', '/writes/%20bad'),
      support('GET', '/writes', { key: stack.patientKey }),
      support('GET', '/writes', { key: null }),
    ]);
    expect(refused.map((answer) => [answer.status, answer.body?.error?.code])).toEqual([
      [400, 'validation_failed'],
      [400, 'invalid_continuation_token'],
      [404, 'write_not_found'],
      [404, 'write_not_found'],
      [401, 'support_key_required'],
      [401, undefined],
    ]);
  });

  it('serves the support page without a key', async () => {
    const page = await support('GET', '/ui', { key: null, user: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('terminates a running write and restarts it; refuses what the write state does not allow', async () => {
    // Write records (not support actions) are refused for now: the write retries its audit attempt.
    proxy.setRule((record) => (record['outcome'] === 'attempted' ? 'unavailable' : 'forward'));
    const started = await call(stack, 'POST', '/api/patient', { body: { ...patient, firstName: 'Stopped' } });
    expect(started.status).toBe(202);
    terminated = started.headers.get('x-operation-id') ?? '';
    const stop = await act(`/writes/${terminated}/terminate`, 'stuck behind audit-app');
    expect([stop.status, stop.body.action]).toEqual([202, 'terminate']);
    proxy.setRule(() => 'forward');
    expect((await ended(terminated)).body.write).toMatchObject({ status: 'terminated', outcome: 'failed' });

    const restart = await act(`/writes/${terminated}/restart`, 'audit-app back');
    expect(restart.status).toBe(202);
    restarted = String(restart.body.newInstanceId);
    expect(restart.headers.get('location')).toBe(`/api/support/writes/${restarted}`);
    expect((await ended(restarted)).body).toMatchObject({
      write: { outcome: 'succeeded' },
      restartedFrom: terminated,
    });

    const refusals = [
      await act(`/writes/${terminated}/restart`),
      await act(`/writes/${succeeded}/restart`),
      await act(`/writes/${succeeded}/terminate`),
    ];
    expect(refusals.map((answer) => [answer.status, answer.body.error.code])).toEqual([
      [409, 'already_restarted'],
      [409, 'write_not_restartable'],
      [409, 'write_not_running'],
    ]);
  });

  it('exports, and refuses an action the audit register cannot record', async () => {
    const exported = await act(`/writes/${terminated}/export`);
    expect([exported.status, exported.body.instance.instanceId]).toEqual([200, terminated]);

    proxy.setRule((record) => (record['outcome'] === 'support-action' ? 'unavailable' : 'forward'));
    const refused = await act(`/writes/${terminated}/export`);
    proxy.setRule(() => 'forward');
    expect([refused.status, refused.body.error.code, refused.headers.get('retry-after')]).toEqual([
      503,
      'audit_unavailable',
      expect.any(String),
    ]);
  });

  it('refuses actions without a person, a body or a good reason', async () => {
    const path = `/writes/${succeeded}/purge`;
    const answers = [
      await support('POST', path, { body: { reason: 'no person' }, user: null }),
      await support('POST', path, { body: { reason: 'no' } }),
      await support('POST', path, { body: { reason: 'two\nlines' } }),
      await support('POST', path, { body: '' }),
      await support('POST', path, { body: '{"reason":', headers: { 'content-type': 'application/json' } }),
      await support('POST', path, { body: 'reason', headers: { 'content-type': 'text/plain' } }),
      await support('POST', path, { body: { reason: 'large', padding: 'x'.repeat(5000) } }),
      await support('POST', '/writes/purge?from=yesterday', { body: { reason: 'bad query' } }),
    ];
    expect(answers.map((answer) => [answer.status, answer.body.error.code])).toEqual([
      [400, 'support_user_required'],
      [400, 'validation_failed'],
      [400, 'validation_failed'],
      [400, 'body_required'],
      [400, 'invalid_json'],
      [415, 'unsupported_media_type'],
      [413, 'payload_too_large'],
      [400, 'validation_failed'],
    ]);
  });

  it('purges one ended write, and the ended writes a filter selects', async () => {
    const one = await act(`/writes/${terminated}/purge`, 'investigated');
    expect([one.status, one.body]).toEqual([
      200,
      { action: 'purge', instanceId: terminated, actionId: expect.any(String) },
    ]);
    const many = await act(`/writes/purge?instanceId=${restarted}`, 'retention');
    expect([many.status, many.body]).toEqual([200, { purged: 1, instanceIds: [restarted], remaining: 0 }]);
    const none = await act(`/writes/purge?instanceId=${restarted}`, 'retention');
    expect([none.status, none.body]).toEqual([200, { purged: 0, instanceIds: [], remaining: 0 }]);
    expect((await support('GET', `/writes/${terminated}`)).status).toBe(404);
  });

  it("erases a deleted patient's personal data, and refuses a patient not deleted or unknown", async () => {
    const created = await call(stack, 'POST', '/api/patient', { body: { ...patient, firstName: 'Erased' } });
    expect(created.status).toBe(201);
    const path = `/patients/${String(created.body.id)}/erase`;
    const notDeleted = await act(path, 'erasure request accepted');
    expect((await call(stack, 'DELETE', `/api/patient/${String(created.body.id)}`)).status).toBe(204);
    const erased = await act(path, 'erasure request accepted');
    const unknown = await act(`/patients/${randomUUID()}/erase`, 'erasure request accepted');
    expect([notDeleted, erased, unknown].map((answer) => [answer.status, answer.body.error?.code])).toEqual([
      [409, 'patient_not_deleted'],
      [200, undefined],
      [404, 'patient_not_found'],
    ]);
    expect(erased.body).toMatchObject({ action: 'erase', versionsScrubbed: 1, testsRemoved: 0, instancesPurged: 2 });
  });

  it('gave only answers the document describes, and at least one success of every operation', () => {
    expect(seen.flatMap((answer) => checker.problems(answer))).toEqual([]);
    const successes = new Set(seen.filter((a) => a.status < 300).map((a) => `${a.method.toLowerCase()} ${a.route}`));
    const operations = Object.entries(checker.document.paths).flatMap(([route, item]) =>
      Object.keys(item)
        .filter((method) => ['get', 'post', 'put', 'delete', 'patch'].includes(method))
        .map((method) => `${method} ${route}`),
    );
    expect(operations.filter((operation) => !successes.has(operation))).toEqual([]);
  });
});
