import type { InstanceStatusLike, ReportStepInput, WriteOutcomeEvent } from '../src';
import { ACTIVITY_NAMES, AttemptTimeout, createWriteActivities, ORCHESTRATION_NAMES, RETRY_POLICIES } from '../src';
import type { RunResult } from '../src/testing';
import { attempts, setup } from './support/saga';

/** Durable Task `HistoryEventType.ExecutionStarted`. */
const EXECUTION_STARTED = 0;
const TRACE = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };

/** The outcome step's calls of a run; it must be the run's last activity. */
function reportsOf(run: RunResult): ReportStepInput[] {
  const calls = run.activityCalls.filter((call) => call.name === ACTIVITY_NAMES.report);
  expect(run.activityCalls.at(-1)?.name).toBe(ACTIVITY_NAMES.report);
  return calls.map((call) => call.input as ReportStepInput);
}

describe('every write ends with one outcome step, whatever its path', () => {
  it('a write in effect: completed, with the trace and the orchestration time of its end', async () => {
    const { driver, input } = setup({ startTime: new Date('2026-03-01T10:00:00.000Z') });
    const write = { ...input('createPatient'), trace: TRACE };
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, write, 'instance-ok');

    expect(run.status).toBe('Completed');
    const [report, ...more] = reportsOf(run);
    expect(more).toEqual([]);
    expect(report).toEqual({
      kind: 'createPatient',
      operationId: write.operationId,
      instanceId: 'instance-ok',
      outcome: 'completed',
      at: expect.stringMatching(/^2026-03-01T10:00:00\.\d{3}Z$/) as string,
      trace: TRACE,
    });
  });

  it('a refusal by the store is completed, with its code as the reason', async () => {
    const { driver, input } = setup();
    const run = await driver.run(ORCHESTRATION_NAMES.updatePatient, input('updatePatient', { patientId: 'nobody' }));
    expect(reportsOf(run)).toEqual([expect.objectContaining({ outcome: 'completed', reason: 'notFound' })]);
  });

  it('audit-app down before anything changed: failed, auditAttemptUnavailable', async () => {
    const { driver, input, audit } = setup();
    audit.faults.down('record');
    const run = await driver.run(ORCHESTRATION_NAMES.deletePatient, input('deletePatient', { patientId: 'p' }));
    expect(reportsOf(run)).toEqual([expect.objectContaining({ outcome: 'failed', reason: 'auditAttemptUnavailable' })]);
  });

  it('the store down: failed, persistUnavailable', async () => {
    const { driver, input, store } = setup();
    store.faults.down('createPatient');
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, input('createPatient'));
    expect(reportsOf(run)).toEqual([expect.objectContaining({ outcome: 'failed', reason: 'persistUnavailable' })]);
  });

  it('a change undone because its success could not be recorded: compensated, auditResultUnavailable', async () => {
    const { driver, input, audit } = setup();
    audit.unavailableFor.add('succeeded');
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, input('createPatient'));
    expect(reportsOf(run)).toEqual([
      expect.objectContaining({ outcome: 'compensated', reason: 'auditResultUnavailable' }),
    ]);
  });

  it('a compensation that cannot finish reports failed (compensationFailed) before the instance fails', async () => {
    const { driver, input, audit, store } = setup();
    audit.unavailableFor.add('succeeded');
    store.faults.down('undo');
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, input('createPatient'));
    expect(run.status).toBe('Failed');
    expect(reportsOf(run)).toEqual([expect.objectContaining({ outcome: 'failed', reason: 'compensationFailed' })]);
  });

  it('an outcome step that keeps failing changes nothing about the write', async () => {
    const { driver, input } = setup({
      beforeActivity: ({ name }) => {
        if (name === ACTIVITY_NAMES.report) throw new Error('task hub unavailable');
        return Promise.resolve();
      },
    });
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, input('createPatient'));
    expect(run.status).toBe('Completed');
    expect(run.output).toMatchObject({ outcome: 'created', auditRecorded: ['attempted', 'succeeded'] });
    expect(attempts(run.activityCalls, ACTIVITY_NAMES.report)).toBe(RETRY_POLICIES.outcomeReport.maxAttempts);
  });
});

describe('the outcome step', () => {
  /** A finished run whose audit-app failed twice first: 3 + 1 + 1 activity executions before the outcome step. */
  async function retriedRun(): Promise<{ run: RunResult; report: ReportStepInput }> {
    const { driver, input, audit } = setup({ startTime: new Date('2026-03-01T10:00:00.000Z') });
    audit.faults.failNext('record', 2);
    const run = await driver.run(
      ORCHESTRATION_NAMES.createPatient,
      { ...input('createPatient'), trace: TRACE },
      'instance-r',
    );
    const [report] = reportsOf(run);
    if (report === undefined) throw new Error('no outcome step');
    return { run, report };
  }

  const statusOf = (run: RunResult): InstanceStatusLike => ({
    name: run.name,
    instanceId: run.instanceId,
    runtimeStatus: 'Running',
    history: run.history,
  });

  const reporter = (enabled: boolean) => {
    const events: WriteOutcomeEvent[] = [];
    return { events, outcomes: { enabled, report: (event: WriteOutcomeEvent) => events.push(event) } };
  };

  const ports = () => {
    const { store, audit, cipher } = setup();
    return { store, audit, cipher };
  };

  it('emits ids, codes and numbers: attempts with retries (its own not counted), the duration from the start to the outcome', async () => {
    const { run, report } = await retriedRun();
    const { events, outcomes } = reporter(true);
    const readInstance = jest.fn((instanceId: string) => Promise.resolve({ ...statusOf(run), instanceId }));

    await expect(createWriteActivities({ ...ports(), outcomes }).report(report, readInstance)).resolves.toEqual({
      ok: true,
      value: { reported: true },
    });
    expect(readInstance).toHaveBeenCalledWith('instance-r');
    const started = Date.parse(run.history.find((event) => event.EventType === EXECUTION_STARTED)?.Timestamp ?? '');
    expect(events).toEqual([
      {
        outcome: 'completed',
        kind: 'createPatient',
        instanceId: 'instance-r',
        attempts: 5,
        durationMs: Date.parse(report.at) - started,
        trace: TRACE,
      },
    ]);
    expect(events[0]?.durationMs).toBeGreaterThan(0);
  });

  it('with telemetry off reads and emits nothing', async () => {
    const { report } = await retriedRun();
    const { events, outcomes } = reporter(false);
    const readInstance = jest.fn(() => Promise.reject(new Error('not to be called')));
    await expect(createWriteActivities({ ...ports(), outcomes }).report(report, readInstance)).resolves.toEqual({
      ok: true,
      value: { reported: false },
    });
    await expect(createWriteActivities(ports()).report(report, readInstance)).resolves.toMatchObject({ ok: true });
    expect(readInstance).not.toHaveBeenCalled();
    expect(events).toEqual([]);
  });

  it('an attempt whose read outlasts its time fails (to be retried) and never emits later', async () => {
    const { run, report } = await retriedRun();
    const { events, outcomes } = reporter(true);
    const policy = RETRY_POLICIES.outcomeReport as { attemptTimeoutMs: number };
    const original = policy.attemptTimeoutMs;
    policy.attemptTimeoutMs = 20;
    let answer: (status: InstanceStatusLike) => void = () => undefined;
    try {
      const slowRead = () => new Promise<InstanceStatusLike>((resolve) => (answer = resolve));
      await expect(createWriteActivities({ ...ports(), outcomes }).report(report, slowRead)).rejects.toBeInstanceOf(
        AttemptTimeout,
      );
    } finally {
      policy.attemptTimeoutMs = original;
    }
    answer(statusOf(run));
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([]);
  });
});
