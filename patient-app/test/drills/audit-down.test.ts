/**
 * Fault drill: audit-app down for a while under load (docs/reliability.md). A stream of creates
 * runs before, during and after an outage of audit-app (its devhost stopped, then started again on
 * the same port). The outage outlasts the `audit` retry policy (attempts 0, 0.5, 1.5, 3.5 and 7.5 s
 * after a write starts), so writes from its first seconds give up and answer 503, and writes from
 * its last seconds retry into the recovery and succeed. Then count and compare: every 201 has its
 * live patient and exactly `attempted`, `succeeded` on record; every 503 has no live patient and
 * no `succeeded`; an undone change left its undo claim; nothing is still running.
 */
import { RETRY_POLICIES, worstCaseMs } from '@patient-records/orchestrations';

import { auditOutcomes, drillPatient, leaksInternals, seededRandom, settled, sleep, unfinishedInstances } from '../support/drills';
import { type Answer, call, useStack } from '../support/stack';

jest.setTimeout(90_000);

const stack = useStack({ patientEnv: { WRITE_WAIT_TIMEOUT_MS: '2000' } });
const rand = seededRandom('audit-down');

/** Seconds after its start by which a write has made its last `attempted` attempt. */
const auditGivesUpMs = worstCaseMs({ ...RETRY_POLICIES.audit, attemptTimeoutMs: 0 });

interface Write {
  n: number;
  key: string;
  body: Record<string, string>;
  startedAt: number;
  first?: Answer;
  final?: Answer;
}

describe('drill: audit-app down under load', () => {
  it('writes retry and succeed after recovery, or answer 503 with nothing half-written', async () => {
    const before = 2_000;
    // Longer than the audit policy's retries by a seeded margin, so both outcomes occur.
    const outage = auditGivesUpMs + rand.between(4_000, 6_000);
    const after = 3_000;
    const writes: Write[] = [];
    const done: Promise<void>[] = [];
    let outageStart = 0;
    let recovered = 0;

    const send = async (write: Write): Promise<void> => {
      write.first = await call(stack, 'POST', '/api/patient', { body: write.body, headers: { 'idempotency-key': write.key } });
      write.final = await settled((location) => call(stack, 'GET', location), write.first, 60_000);
    };
    const outageDone = (async () => {
      await sleep(before);
      outageStart = Date.now();
      await stack.stopAudit();
      await sleep(outage);
      await stack.startAudit();
      recovered = Date.now();
    })();

    const t0 = Date.now();
    for (let n = 0; n < 120 && (recovered === 0 || Date.now() - recovered < after); n += 1) {
      const write: Write = { n, key: `drill-audit-${rand.seed}-${n}`, body: drillPatient('audit', n), startedAt: Date.now() };
      writes.push(write);
      done.push(send(write));
      // About two writes a second: a steady load well inside what one devhost serves.
      await sleep(rand.between(350, 650));
    }
    await outageDone;
    await Promise.all(done);

    const statuses = new Map<number, number>();
    for (const write of writes) statuses.set(write.final?.status ?? 0, (statuses.get(write.final?.status ?? 0) ?? 0) + 1);
    console.info(
      `[audit-down] ${writes.length} writes in ${Date.now() - t0} ms, outage ${outage} ms; final answers ${JSON.stringify(Object.fromEntries(statuses))}; ` +
        `first answers 202: ${writes.filter((w) => w.first?.status === 202).length}`,
    );

    // Every write ends in a clear answer: 201, or 503 in the one error shape with its operation.
    expect(writes.filter((w) => w.final?.status !== 201 && w.final?.status !== 503).map((w) => ({ n: w.n, status: w.final?.status, body: w.final?.body as unknown }))).toEqual([]);
    for (const write of writes) {
      const final = write.final!;
      expect(leaksInternals(JSON.stringify(final.body))).toBe(false);
      if (final.status === 503) {
        expect(final.body.error).toMatchObject({ code: 'dependency_unavailable', details: { operationId: final.headers.get('x-operation-id') } });
        expect(final.headers.get('retry-after')).toBeTruthy();
      }
    }
    // The drill did what it is for: writes from the outage's start failed, later ones succeeded.
    const failed = writes.filter((w) => w.final?.status === 503);
    const succeeded = writes.filter((w) => w.final?.status === 201);
    expect(failed.length).toBeGreaterThan(0);
    expect(writes.filter((w) => w.startedAt > outageStart && w.startedAt < recovered && w.final?.status === 201).length).toBeGreaterThan(0);
    // Nothing fails once audit-app is back.
    expect(writes.filter((w) => w.startedAt >= recovered && w.final?.status !== 201)).toEqual([]);

    // Count and compare with the patient store and the audit register.
    const patients = stack.patientDb().collection<{ _id: string; deleted: boolean; patient: Record<string, unknown> | null; operationId: string }>('patients');
    const versions = stack.patientDb().collection<{ _id: string; patientId: string; operationId: string; kind: string }>('patientVersions');
    const live = await patients.find({ deleted: false }).toArray();
    expect(live.map((p) => p._id).sort()).toEqual(succeeded.map((w) => String(w.final?.body.id)).sort());
    for (const write of succeeded) {
      const operationId = write.final!.headers.get('x-operation-id')!;
      const doc = live.find((p) => p._id === write.final?.body.id);
      expect(doc?.patient).toMatchObject(write.body);
      expect((await versions.find({ patientId: doc?._id }).toArray()).map((v) => v.kind)).toEqual(['create']);
      expect({ n: write.n, outcomes: await auditOutcomes(stack.auditDb(), operationId) }).toEqual({ n: write.n, outcomes: ['attempted', 'succeeded'] });
    }
    const steps = new Map<string, number>();
    for (const write of failed) {
      const operationId = String(write.final?.body.error.details.operationId);
      const step = String(write.final?.body.error.details.step);
      steps.set(step, (steps.get(step) ?? 0) + 1);
      const outcomes = await auditOutcomes(stack.auditDb(), operationId);
      expect(outcomes).not.toContain('succeeded');
      expect(new Set(outcomes).size).toBe(outcomes.length);
      const claims = await versions.find({ operationId: { $in: [operationId, `${operationId}:undo`] } }).toArray();
      if (step === 'auditAttempt') {
        // Fail closed: nothing changes unless the attempt is on record.
        expect({ n: write.n, outcomes, claims }).toEqual({ n: write.n, outcomes: [], claims: [] });
      } else {
        // The change was made, its success could not be recorded: it was undone.
        expect({ n: write.n, step, kinds: claims.map((c) => c.kind).sort() }).toEqual({ n: write.n, step: 'auditResult', kinds: ['create', 'undo'] });
        expect(outcomes[0]).toBe('attempted');
        expect(outcomes.every((o) => o === 'attempted' || o === 'compensated')).toBe(true);
      }
    }
    console.info(`[audit-down] 503 steps ${JSON.stringify(Object.fromEntries(steps))}`);
    // No record twice: one per (operation, outcome), and no `succeeded` without a 201.
    const register = await stack.auditDb().collection('audits').find({ resourceType: 'patient' }).toArray();
    const pairs = register.map((r) => `${String(r['correlationId'])}:${String(r['outcome'])}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    expect(register.filter((r) => r['outcome'] === 'succeeded').length).toBe(succeeded.length);
    expect(await unfinishedInstances(stack.taskHubDb(), stack.patients().hubName)).toEqual([]);
  });
});
