import { HttpRequest } from '@azure/functions';
import { HttpError, ValidationError } from '@patient-records/platform';

import { requireSupportKey } from '../../../src/support/support-key';
import { readListQuery, readReason } from '../../../src/support/support-query';
import { selectWrites, summarizeWrite, type WriteSummary } from '../../../src/support/write-summary';

const result = (outcome: string, extra: Record<string, unknown> = {}) => ({
  v: 1,
  kind: 'createPatient',
  operationId: 'x',
  patientId: 'p',
  outcome,
  auditRecorded: ['attempted'],
  ...extra,
});

function status(
  instanceId: string,
  runtimeStatus: string,
  createdTime: string,
  output: unknown = null,
  name = 'createPatientOrchestrator',
) {
  return {
    name,
    instanceId,
    runtimeStatus,
    createdTime,
    lastUpdatedTime: createdTime,
    input: {
      v: 1,
      kind: 'createPatient',
      operationId: instanceId,
      patientId: `patient-${instanceId}`,
      actor: { system: 'a' },
    },
    output,
    customStatus: { v: 1, step: 'persist' },
  };
}

describe('summarizeWrite', () => {
  it('summarises a write orchestration with its ids, step and classification', () => {
    expect(
      summarizeWrite(
        status(
          'op-1',
          'Completed',
          '2026-12-02T10:00:00Z',
          result('unavailable', { failure: { step: 'auditResult', compensated: true } }),
        ),
      ),
    ).toEqual({
      instanceId: 'op-1',
      kind: 'createPatient',
      orchestrator: 'createPatientOrchestrator',
      runtimeStatus: 'Completed',
      status: 'completed',
      outcome: 'compensated',
      reason: 'auditResult unavailable; change undone',
      needsAttention: true,
      operationId: 'op-1',
      patientId: 'patient-op-1',
      step: 'persist',
      createdTime: '2026-12-02T10:00:00.000Z',
      lastUpdatedTime: '2026-12-02T10:00:00.000Z',
    });
  });

  it('leaves out orchestrations that are not writes', () => {
    expect(
      summarizeWrite(status('x', 'Running', '2026-12-02T10:00:00Z', null, 'someOtherOrchestrator')),
    ).toBeUndefined();
  });
});

describe('selectWrites', () => {
  const summaries = [
    status('a', 'Completed', '2026-12-02T10:00:00Z', result('created')),
    status('b', 'Failed', '2026-12-02T11:00:00Z', "Orchestrator function 'x' failed: boom"),
    status('c', 'Running', '2026-12-02T12:00:00Z'),
    status(
      'd',
      'Completed',
      '2026-12-02T09:00:00Z',
      result('unavailable', { failure: { step: 'auditAttempt', compensated: false } }),
    ),
    status('e', 'Terminated', '2026-12-02T08:00:00Z', 'stuck'),
  ].map((item): WriteSummary => summarizeWrite(item)!);

  it('lists newest first and counts every status and outcome of the range', () => {
    const { items, counts } = selectWrites(summaries, {});
    expect(items.map((item) => item.instanceId)).toEqual(['c', 'b', 'a', 'd', 'e']);
    expect(counts).toEqual({
      byStatus: { running: 1, completed: 2, failed: 1, terminated: 1 },
      byOutcome: { succeeded: 1, rejected: 0, compensated: 0, failed: 3, inProgress: 1 },
      total: 5,
    });
  });

  it('filters by status and outcome without changing the counts', () => {
    const { items, counts } = selectWrites(summaries, { statuses: ['completed'], outcomes: ['failed'] });
    expect(items.map((item) => item.instanceId)).toEqual(['d']);
    expect(counts.total).toBe(5);
  });

  it('narrows the counts by kind, operation and patient', () => {
    expect(selectWrites(summaries, { patientId: 'PATIENT-B' }).counts.total).toBe(1);
    expect(selectWrites(summaries, { operationId: 'a' }).items.map((item) => item.instanceId)).toEqual(['a']);
    expect(selectWrites(summaries, { kinds: ['deletePatient'] }).counts.total).toBe(0);
  });
});

describe('support query', () => {
  const now = new Date('2026-12-02T12:00:00Z');

  it('defaults to the last 24 hours, 50 per page', () => {
    expect(readListQuery(new URLSearchParams(), now)).toEqual({
      filter: {},
      from: new Date('2026-12-01T12:00:00Z'),
      to: now,
      pageSize: 50,
      given: {},
    });
  });

  it('reads every filter', () => {
    const query = readListQuery(
      new URLSearchParams(
        'status=failed,terminated&outcome=compensated&kind=createPatient&operationId=op-1&patientId=p-1&from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z&pageSize=10&continuationToken=t',
      ),
      now,
    );
    expect(query).toEqual({
      filter: {
        statuses: ['failed', 'terminated'],
        outcomes: ['compensated'],
        kinds: ['createPatient'],
        operationId: 'op-1',
        patientId: 'p-1',
      },
      from: new Date('2026-12-01T00:00:00Z'),
      to: new Date('2026-12-02T00:00:00Z'),
      pageSize: 10,
      continuationToken: 't',
      given: { from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z' },
    });
  });

  it('names every bad field', () => {
    try {
      readListQuery(new URLSearchParams('status=broken&pageSize=0&from=yesterday&colour=red'), now);
      throw new Error('no error');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).fields.map((field) => field.field).sort()).toEqual([
        'colour',
        'from',
        'pageSize',
        'status',
      ]);
    }
    expect(() => readListQuery(new URLSearchParams('from=2026-10-01T00:00:00Z'), now)).toThrow(ValidationError);
  });

  it.each([
    ['a prototype-named parameter', '__proto__=x', '__proto__'],
    ['constructor', 'constructor=x', 'constructor'],
    ['a repeated list parameter', 'status=failed&status=completed', 'status'],
    ['a repeated page size', 'pageSize=10&pageSize=20', 'pageSize'],
    ['a day the month lacks', 'from=2026-11-31T00:00:00Z', 'from'],
  ])('refuses %s by name', (_title, text, field) => {
    expect(() => readListQuery(new URLSearchParams(text), now)).toThrow(
      expect.objectContaining({ fields: [{ field, messages: [expect.any(String)] }] }),
    );
  });

  it('leaves the Functions key parameter to the host', () => {
    expect(readListQuery(new URLSearchParams('code=key&status=failed'), now).filter).toEqual({ statuses: ['failed'] });
  });

  it('requires a one-line reason for actions', () => {
    expect(readReason({ reason: '  audit-app was down; retrying  ' })).toBe('audit-app was down; retrying');
    for (const body of [{}, { reason: 'x' }, { reason: 'a'.repeat(257) }, { reason: 'two\nlines' }, 'text'])
      expect(() => readReason(body)).toThrow(ValidationError);
  });
});

describe('requireSupportKey', () => {
  const source = (value: string | undefined, rotated = value) => ({
    get: () => Promise.resolve(value),
    refresh: () => Promise.resolve(rotated),
  });
  const request = (headers: Record<string, string>, url = 'http://localhost/api/support/writes') =>
    new HttpRequest({ method: 'GET', url, headers });

  it('accepts the support key in the header or as code', async () => {
    await expect(
      requireSupportKey(request({ 'x-functions-key': 'support-secret' }), source('support-secret')),
    ).resolves.toBeUndefined();
    await expect(
      requireSupportKey(
        request({}, 'http://localhost/api/support/writes?code=support-secret'),
        source('support-secret'),
      ),
    ).resolves.toBeUndefined();
  });

  it("refuses any other key, such as the consumers' key, with 401", async () => {
    const refused = requireSupportKey(request({ 'x-functions-key': 'consumer-key' }), source('support-secret'));
    await expect(refused).rejects.toBeInstanceOf(HttpError);
    await expect(refused).rejects.toMatchObject({ status: 401, code: 'support_key_required' });
    await expect(requireSupportKey(request({}), source('support-secret'))).rejects.toMatchObject({ status: 401 });
  });

  it('picks up a rotated key by reading it again', async () => {
    await expect(
      requireSupportKey(request({ 'x-functions-key': 'new-key' }), source('old-key', 'new-key')),
    ).resolves.toBeUndefined();
  });

  it('is 503 when no support key is configured', async () => {
    await expect(
      requireSupportKey(request({ 'x-functions-key': 'anything' }), source(undefined)),
    ).rejects.toMatchObject({ status: 503, code: 'support_disabled' });
  });
});
