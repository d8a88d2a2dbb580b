/**
 * The support API end to end, under two devhosts on the embedded store: a write fails while
 * audit-app is down; support finds it, reads its timeline, is refused a restart while the audit
 * register cannot record it, restarts it once audit-app is back, sees it succeed with its audit
 * trail, exports it and replays the export against today's code, and purges the old one. Only the
 * support key opens the support API.
 */
import { randomBytes } from 'node:crypto';

import { readRecording, replay, todaysOrchestrators } from '@patient-records/orchestrations/replay';

import { EXIT, runCli } from '../../src/support/cli/support-cli';
import { loadOpenApi, OpenApiChecker, recordingFetch, type SeenAnswer, supportRouteOf } from '../support/openapi';
import { type Answer, call, type Stack, useStack } from '../support/stack';
import { installSupportKey } from '../support/support-key';

const supportKey = `support-e2e-${randomBytes(8).toString('hex')}`;
const stack: Stack = useStack({ patientEnv: { SUPPORT_API_KEY: supportKey, WRITE_WAIT_TIMEOUT_MS: '500' } });

beforeAll(() => installSupportKey(stack, supportKey));

/** Every support API answer this file gets (the CLI's too), checked against support-openapi.yaml at the end. */
const seen: SeenAnswer[] = [];

const record = (method: string, path: string, answer: Answer): Answer => {
  seen.push({ method, route: supportRouteOf(path), status: answer.status, headers: answer.headers, body: answer.body });
  return answer;
};

const support = async (method: string, path: string, body?: unknown, key: string = supportKey) =>
  record(
    method,
    path,
    await call(stack, method, `/api/support${path}`, {
      key,
      headers: { 'x-caller-user': 'support.tester' },
      ...(body === undefined ? {} : { body }),
    }),
  );

/** Polls a write until it has ended (bounded: the retry policies end every write within a minute). */
async function ended(
  instanceId: string,
): Promise<{ body: { write: { status: string; outcome: string } } } & Awaited<ReturnType<typeof support>>> {
  for (let attempt = 0; attempt < 240; attempt += 1) {
    const answer = await support('GET', `/writes/${instanceId}`);
    if (answer.status === 200 && answer.body.write.status !== 'running') return answer;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`write ${instanceId} did not end`);
}

const patient = {
  firstName: 'Orlaith',
  lastName: 'Vantongeren',
  gender: 'female',
  dateOfBirth: '1984-05-06',
  postCode: '4Z8Q',
};
const testResult = {
  performer: 'Harbourview Pathology',
  orderReference: 'ORD-55120',
  observations: [
    { id: 'o-1', code: 'HbA1c', measurement: '6.1 %', interpretation: 'normal', issued: '2026-02-03T04:05:06Z', status: 'final' },
  ],
};

describe('support API', () => {
  let failedId = '';
  let newId = '';

  it('takes only the support key', async () => {
    expect((await support('GET', '/writes', undefined, stack.patientKey)).status).toBe(401);
    expect((await support('GET', '/writes', undefined, stack.patients().masterKey)).body.error.code).toBe(
      'support_key_required',
    );
    expect((await support('GET', '/writes')).status).toBe(200);
  });

  it('finds a write that failed while audit-app was down, with its timeline', async () => {
    await stack.stopAudit();
    const created = await call(stack, 'POST', '/api/patient', { body: patient });
    expect([202, 503]).toContain(created.status);
    failedId = created.headers.get('x-operation-id') ?? '';
    expect(failedId).not.toBe('');

    const detail = await ended(failedId);
    expect(detail.body.write).toMatchObject({
      instanceId: failedId,
      kind: 'createPatient',
      status: 'completed',
      outcome: 'failed',
      needsAttention: true,
    });
    const audit = detail.body.timeline.steps[0];
    // The management API's history carries no activity inputs, so the step says "audit" (not which record).
    expect(audit).toMatchObject({
      name: 'auditWriteActivity',
      label: expect.stringMatching(/^audit/),
      status: 'failed',
    });
    expect(audit.attempts).toBeGreaterThan(1);
    expect(
      (detail.body.timeline.entries as { kind: string }[]).some(
        (entry: { kind: string }) => entry.kind === 'retryTimer',
      ),
    ).toBe(true);
    expect(detail.body.auditRecords).toBeNull();
    expect(detail.body.auditError).toContain('audit register');
    expect(JSON.stringify(detail.body)).not.toContain('Vantongeren');

    const list = await support('GET', '/writes?outcome=failed&kind=createPatient');
    expect(
      (list.body.items as { instanceId: string }[]).map((item: { instanceId: string }) => item.instanceId),
    ).toContain(failedId);
    // Filtering by patient finds it too (the patient id comes from the write's input or result).
    const byPatient = await support('GET', `/writes?patientId=${String(detail.body.write.patientId)}`);
    expect((byPatient.body.items as { instanceId: string }[]).map((item) => item.instanceId)).toEqual([failedId]);
    expect(list.body.counts.byStatus.completed).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('refuses a restart the audit register cannot record, and needs a reason and a person', async () => {
    const refused = await support('POST', `/writes/${failedId}/restart`, { reason: 'audit-app back?' });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('audit_unavailable');
    expect((await support('POST', `/writes/${failedId}/restart`, {})).status).toBe(400);
    const anonymous = record(
      'POST',
      `/writes/${failedId}/restart`,
      await call(stack, 'POST', `/api/support/writes/${failedId}/restart`, { key: supportKey, body: { reason: 'no name' } }),
    );
    expect(anonymous.body.error.code).toBe('support_user_required');
  });

  it('restarts it once audit-app is back; the new write succeeds and both are linked and audited', async () => {
    await stack.startAudit();
    const restarted = await support('POST', `/writes/${failedId}/restart`, { reason: 'audit-app outage over' });
    expect(restarted.status).toBe(202);
    newId = restarted.body.newInstanceId;
    const detail = await ended(newId);
    expect(detail.body.write).toMatchObject({
      status: 'completed',
      outcome: 'succeeded',
      patientId: expect.any(String),
    });
    expect(detail.body.restartedFrom).toBe(failedId);
    expect((detail.body.auditRecords as { outcome: string }[]).map((record) => record.outcome).sort()).toEqual([
      'attempted',
      'succeeded',
    ]);

    const old = await support('GET', `/writes/${failedId}`);
    expect(old.body.restartedAs).toBe(newId);
    const actions = (old.body.auditRecords as { outcome: string; details: { phase: string } }[]).filter(
      (record) => record.outcome === 'support-action',
    );
    expect(actions.map((record) => record.details.phase).sort()).toEqual(['done', 'requested']);
    expect(actions[0]).toMatchObject({
      actor: { user: 'support.tester' },
      resource: { operation: 'restart', id: failedId },
      details: { supportReason: 'audit-app outage over', newInstanceId: newId },
    });

    const again = await support('POST', `/writes/${failedId}/restart`, { reason: 'twice' });
    expect(again.status).toBe(409);
    expect(again.body.error.details.newInstanceId).toBe(newId);
  }, 120_000);

  it("exports a write in the format npm run replay reads, and it replays against today's code", async () => {
    const exported = await support('POST', `/writes/${failedId}/export`, { reason: 'replay check' });
    expect(exported.status).toBe(200);
    expect(exported.body).toMatchObject({
      format: 'patient-records/orchestration-export',
      instance: { instanceId: failedId },
    });
    const result = await replay(readRecording(exported.body), todaysOrchestrators().invoke);
    expect(result.divergence).toBeUndefined();
    expect(result.end).toBe('completed');
  });

  it('is what npm run support talks to: list, show and restart refusals through the CLI', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const cli = (...argv: string[]) =>
      runCli(
        [...argv, '--base-url', `${stack.patients().url}/api/support`, '--key', supportKey, '--user', 'cli.tester'],
        {
          out: (text) => out.push(text),
          err: (text) => err.push(text),
          env: {},
          cwd: process.cwd(),
          repositoryRoot: process.cwd(),
          fetch: recordingFetch(seen),
          now: () => new Date(),
        },
      );
    expect(await cli('list', '--outcome', 'failed', '--since', '1h')).toBe(EXIT.ok);
    expect(out.join('\n')).toContain(failedId);
    expect(await cli('show', failedId)).toBe(EXIT.ok);
    expect(out.join('\n')).toMatch(/Timeline[\s\S]*retry delay for auditWriteActivity/);
    expect(await cli('restart', failedId, '--reason', 'again')).toBe(EXIT.refused);
    expect(await cli('show', 'no-such-write')).toBe(EXIT.notFound);
  });

  it('terminates only running writes and purges ended ones, each audited', async () => {
    const terminate = await support('POST', `/writes/${newId}/terminate`, { reason: 'not running' });
    expect(terminate.status).toBe(409);
    const purged = await support('POST', `/writes/${failedId}/purge`, { reason: 'investigated' });
    expect(purged.status).toBe(200);
    expect((await support('GET', `/writes/${failedId}`)).status).toBe(404);
  });

  it('answers a repeat and the operations link of a purged write from what it stored, and writes nothing again', async () => {
    const key = { 'idempotency-key': `purged-create-${randomBytes(4).toString('hex')}` };
    const created = await call(stack, 'POST', '/api/patient', { body: patient, headers: key });
    expect(created.status).toBe(201);
    const patientId: string = created.body.id;
    const testKey = { 'idempotency-key': `purged-test-${randomBytes(4).toString('hex')}` };
    const testPath = `/api/patient/${patientId}/tests`;
    const added = await call(stack, 'POST', testPath, { body: testResult, headers: testKey });
    expect(added.status).toBe(201);
    for (const write of [created, added]) {
      const operationId = write.headers.get('x-operation-id') ?? '';
      expect((await support('POST', `/writes/${operationId}/purge`, { reason: 'retention' })).status).toBe(200);
      expect((await support('GET', `/writes/${operationId}`)).status).toBe(404);
    }
    const stored = async () => ({
      versions: await stack.patientDb().collection('patientVersions').countDocuments({ _shardKey: patientId }),
      tests: await stack.patientDb().collection('tests').countDocuments({ _shardKey: patientId }),
    });
    const before = await stored();
    const answerOf = (answer: Answer) => [
      answer.status,
      answer.body,
      ...['etag', 'location', 'x-operation-id'].map((name) => answer.headers.get(name)),
    ];
    const repeated = await call(stack, 'POST', '/api/patient', { body: patient, headers: key });
    expect(answerOf(repeated)).toEqual(answerOf(created));
    const repeatedTest = await call(stack, 'POST', testPath, { body: testResult, headers: testKey });
    expect(answerOf(repeatedTest)).toEqual(answerOf(added));
    // Their operations links answer the same, from the store.
    for (const write of [created, added]) {
      const link = await call(stack, 'GET', `/api/operations/${write.headers.get('x-operation-id') ?? ''}`);
      expect(answerOf(link)).toEqual(answerOf(write));
    }
    expect(await stored()).toEqual(before);
    expect(before).toEqual({ versions: 1, tests: 1 });
  });

  it('gave only answers support-openapi.yaml describes (the audit register down, restart links, the CLI)', () => {
    expect(seen.length).toBeGreaterThan(10);
    const checker = new OpenApiChecker(loadOpenApi('support-openapi.yaml'));
    expect(seen.flatMap((answer) => checker.problems(answer))).toEqual([]);
  });
});
