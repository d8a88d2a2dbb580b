/**
 * patient-app when audit-app fails, end to end under two devhosts: writes retry, then compensate
 * and answer 503 with the operation id; nothing half-written stays; the audit register tells the
 * story. The starter waits only 3 s here, so slow writes answer 202 and the operations link answers
 * later.
 */
import { useAuditProxy } from '../support/audit-proxy';
import { type Answer, call, type Stack, useStack } from '../support/stack';

// The proxy is started first (its beforeAll runs first) and forwards to the stack's audit-app.
const holder: { stack?: Stack } = {};
const proxy = useAuditProxy(() => {
  if (!holder.stack) throw new Error('no stack');
  return holder.stack.audit().url;
});
const stack = useStack({ auditApiUrl: () => proxy.url(), patientEnv: { WRITE_WAIT_TIMEOUT_MS: '3000' } });
holder.stack = stack;

const patient = { firstName: 'Ottoline', lastName: 'Brackenridge', gender: 'other', dateOfBirth: '1977-08', postCode: '2612' };

afterEach(() => {
  proxy.setRule(() => 'forward');
});

/** Follows an operations link until the write has finished (bounded: the saga's retries end within a minute). */
async function finished(location: string): Promise<Answer> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await call(stack, 'GET', location);
    if (answer.status !== 202 || Date.now() > deadline) return answer;
    expect(answer.headers.get('location')).toBe(location);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function auditOutcomes(operationId: string): Promise<string[]> {
  return stack
    .auditDb()
    .collection('audits')
    .find({ correlationId: operationId })
    .sort({ timestamp: 1, createdDate: 1 })
    .toArray()
    .then((records) => records.map((r) => String(r['outcome'])));
}

describe('patient-app when audit-app fails', () => {
  it('still answers a fast write directly (201 within the wait)', async () => {
    const created = await call(stack, 'POST', '/api/patient', { body: patient });
    expect(created.status).toBe(201);
  });

  it('with audit-app stopped: the write retries, answers 202, and its link answers 503 with nothing written; reads fail closed', async () => {
    const before = await stack.patientDb().collection('patientVersions').countDocuments();
    await stack.stopAudit();
    try {
      const started = await call(stack, 'POST', '/api/patient', { body: patient });
      expect(started.status).toBe(202);
      const location = started.headers.get('location')!;
      expect(location).toMatch(/^\/api\/operations\/[0-9a-f-]{36}$/);
      const headerText: string[] = [];
      started.headers.forEach((value, name) => headerText.push(`${name}: ${value}`));
      expect(JSON.stringify([started.body, headerText])).not.toMatch(/webhooks|durabletask|code=/i);
      const read = await call(stack, 'POST', '/api/patient/search', { body: {} });
      expect(read.status).toBe(503);
      expect(read.body.error.code).toBe('audit_unavailable');
      const done = await finished(location);
      expect(done.status).toBe(503);
      expect(done.headers.get('retry-after')).toBeTruthy();
      expect(done.body.error.details).toMatchObject({ operationId: started.headers.get('x-operation-id'), step: 'auditAttempt', compensated: false });
      expect(await stack.patientDb().collection('patientVersions').countDocuments()).toBe(before);
    } finally {
      await stack.startAudit();
    }
    expect((await call(stack, 'POST', '/api/patient/search', { body: {} })).status).toBe(200);
  });

  it('when the success cannot be recorded: the change is undone, the answer is 503, and the register shows attempted then compensated', async () => {
    proxy.setRule((record) => (record['outcome'] === 'succeeded' ? 'unavailable' : 'forward'));
    const started = await call(stack, 'POST', '/api/patient', { body: patient });
    const done = started.status === 202 ? await finished(started.headers.get('location')!) : started;
    expect(done.status).toBe(503);
    const operationId = started.headers.get('x-operation-id')!;
    expect(done.body.error.details).toMatchObject({ operationId, step: 'auditResult', compensated: true });
    const outcomes = await auditOutcomes(operationId);
    expect(outcomes[0]).toBe('attempted');
    expect(outcomes).toContain('compensated');
    expect(outcomes).not.toContain('succeeded');
    const claims = await stack.patientDb().collection('patientVersions').find({ operationId: { $in: [operationId, `${operationId}:undo`] } }).toArray();
    const patientId = String(claims[0]?.['patientId']);
    expect(claims.map((c) => String(c['kind'])).sort()).toEqual(['create', 'undo']);
    proxy.setRule(() => 'forward');
    expect((await call(stack, 'GET', `/api/patient/${patientId}`)).status).toBe(404);
  });
});
