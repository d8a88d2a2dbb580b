import type { RetryPolicy } from '../src';
import {
  ACTIVITY_NAMES,
  AttemptTimeout,
  createWriteActivities,
  ORCHESTRATION_NAMES,
  PermanentFailure,
  RETRY_POLICIES,
  retryDelayMs,
  retryOptions,
  worstCaseMs,
} from '../src';
import { EventType, type HistoryEvent, InMemoryAuditRegister, InMemoryPatientStore } from '../src/testing';
import { setup } from './support/saga';

describe('retry policies', () => {
  it('are handed to the host as RetryOptions with every field', () => {
    const options = retryOptions(RETRY_POLICIES.audit);
    expect(JSON.parse(JSON.stringify(options))).toMatchObject({
      firstRetryIntervalInMilliseconds: 500,
      maxNumberOfAttempts: 5,
      backoffCoefficient: 2,
      maxRetryIntervalInMilliseconds: 4000,
    });
  });

  it('never pass retryTimeoutInMilliseconds (it hangs JavaScript orchestrations, durable-js #629)', () => {
    for (const policy of Object.values(RETRY_POLICIES))
      expect(JSON.parse(JSON.stringify(retryOptions(policy)))).not.toHaveProperty('retryTimeoutInMilliseconds');
  });

  it('the host waits first × backoff^n, capped, between attempts: the history shows it', async () => {
    const { driver, input, audit } = setup();
    audit.faults.down('record');
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, input('createPatient'));

    const waits = run.history
      .filter((event) => event.EventType === EventType.TimerCreated)
      .map((timer) => {
        const failed = run.history
          .filter((e) => e.EventType === EventType.TaskFailed && Date.parse(e.Timestamp) <= Date.parse(timer.Timestamp))
          .at(-1)!;
        return Date.parse(String(timer.FireAt)) - Date.parse(failed.Timestamp);
      });
    const policy = RETRY_POLICIES.audit;
    // One timer after every failed attempt, the last included (the library waits for it).
    expect(waits).toHaveLength(policy.maxAttempts);
    expect(waits).toEqual([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(policy, attempt)));
    expect(waits).toEqual([500, 1000, 2000, 4000, 4000]);
  });

  it('keep the audit step of a caller-facing write within the starter wait when audit-app refuses connections', () => {
    // Connection refused fails an attempt at once: only the waits count.
    const waits = (policy: RetryPolicy) =>
      [...Array(policy.maxAttempts - 1).keys()].reduce((sum, n) => sum + retryDelayMs(policy, n + 1), 0);
    expect(waits(RETRY_POLICIES.audit) + waits(RETRY_POLICIES.auditFollowUp)).toBeLessThan(20_000);
    expect(worstCaseMs(RETRY_POLICIES.persist)).toBe(4 * 5_000 + 250 + 500 + 1000);
  });
});

describe('activities', () => {
  const cipher = { open: () => Promise.resolve({ firstName: 'x' }) };

  it('turn a PermanentFailure into a completed result and rethrow anything else', async () => {
    const audit = new InMemoryAuditRegister();
    const activities = createWriteActivities({ store: new InMemoryPatientStore(), audit, cipher });
    audit.rejectOutcomes.add('attempted');
    const entry = {
      idempotencyKey: 'op:attempted',
      operationId: 'op',
      instanceId: 'i',
      kind: 'createPatient' as const,
      operation: 'create' as const,
      resource: { type: 'patient' as const, id: 'p', patientId: 'p' },
      actor: { system: 's' },
      outcome: 'attempted' as const,
      at: '2026-01-01T00:00:00.000Z',
    };
    await expect(activities.audit(entry)).resolves.toEqual({
      ok: false,
      failure: { code: 'rejected', message: 'audit-app refused the attempted record' },
    });
    audit.rejectOutcomes.clear();
    audit.faults.failNext('record');
    await expect(activities.audit(entry)).rejects.toThrow('unavailable');
    await expect(activities.audit(entry)).resolves.toEqual({ ok: true, value: { recordId: 'audit-1' } });
    await expect(activities.audit(entry)).resolves.toEqual({ ok: true, value: { recordId: 'audit-1' } });
  });

  it('give up on an attempt that hangs, as a transient failure', async () => {
    jest.useFakeTimers();
    try {
      const store = new InMemoryPatientStore();
      store.createPatient = () => new Promise(() => undefined);
      const activities = createWriteActivities({ store, audit: new InMemoryAuditRegister(), cipher });
      const attempt = activities.persist({
        kind: 'createPatient',
        operationId: 'op',
        patientId: 'p',
        at: '2026-01-01T00:00:00.000Z',
        payload: { alg: 'A256GCM', keyId: 'k', iv: '', ciphertext: '', tag: '' },
      });
      const settled = expect(attempt).rejects.toBeInstanceOf(AttemptTimeout);
      await jest.advanceTimersByTimeAsync(RETRY_POLICIES.persist.attemptTimeoutMs);
      await settled;
    } finally {
      jest.useRealTimers();
    }
  });

  it('pass the current version of a conflict on to the orchestrator', async () => {
    const store = new InMemoryPatientStore();
    store.updatePatient = () => Promise.reject(new PermanentFailure('conflict', 'stale', 7));
    const activities = createWriteActivities({ store, audit: new InMemoryAuditRegister(), cipher });
    await expect(
      activities.persist({
        kind: 'updatePatient',
        operationId: 'op',
        patientId: 'p',
        at: 'now',
        expectedVersion: 3,
        payload: { alg: 'A256GCM', keyId: 'k', iv: '', ciphertext: '', tag: '' },
      }),
    ).resolves.toEqual({ ok: false, failure: { code: 'conflict', message: 'stale', currentVersion: 7 } });
  });
});

describe('replaying synthetic histories through the real engine', () => {
  const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
  const started = (second: number): HistoryEvent => ({
    EventType: EventType.OrchestratorStarted,
    EventId: -1,
    Timestamp: at(second),
    IsPlayed: true,
  });

  /** Appends the outcome step's scheduling (task `id`) and its completion at `second`. */
  const completeReport = (history: HistoryEvent[], id: number, second: number): void => {
    history.push(
      { EventType: EventType.TaskScheduled, EventId: id, Timestamp: at(second - 1), Name: ACTIVITY_NAMES.report },
      started(second),
      {
        EventType: EventType.TaskCompleted,
        EventId: -1,
        Timestamp: at(second),
        TaskScheduledId: id,
        Result: JSON.stringify({ ok: true, value: { reported: false } }),
      },
    );
  };

  it('after a rejected persist it records the rejection and then completes with the mapped outcome', async () => {
    const { driver, input } = setup();
    const write = input('updatePatient', { patientId: 'p1', expectedVersion: 4 });
    const history: HistoryEvent[] = [
      started(0),
      {
        EventType: EventType.ExecutionStarted,
        EventId: -1,
        Timestamp: at(0),
        Name: ORCHESTRATION_NAMES.updatePatient,
        Input: JSON.stringify(write),
      },
      { EventType: EventType.TaskScheduled, EventId: 0, Timestamp: at(0), Name: ACTIVITY_NAMES.audit },
      started(1),
      {
        EventType: EventType.TaskCompleted,
        EventId: -1,
        Timestamp: at(1),
        TaskScheduledId: 0,
        Result: JSON.stringify({ ok: true, value: { recordId: 'r1' } }),
      },
      { EventType: EventType.TaskScheduled, EventId: 1, Timestamp: at(1), Name: ACTIVITY_NAMES.persist },
      started(2),
      {
        EventType: EventType.TaskCompleted,
        EventId: -1,
        Timestamp: at(2),
        TaskScheduledId: 1,
        Result: JSON.stringify({ ok: false, failure: { code: 'conflict', message: 'stale', currentVersion: 6 } }),
      },
    ];

    const next = await driver.episode(ORCHESTRATION_NAMES.updatePatient, { history, input: write, instanceId: 'i1' });
    expect(next.isDone).toBe(false);
    const scheduled = next.actions.flat() as {
      functionName: string;
      input: { outcome?: string; reason?: string; at?: string };
    }[];
    expect(scheduled.map((action) => action.functionName)).toEqual([
      ACTIVITY_NAMES.audit,
      ACTIVITY_NAMES.persist,
      ACTIVITY_NAMES.audit,
    ]);
    // The record's time is the orchestration's, from history: the same on every replay.
    expect(scheduled[2]!.input).toMatchObject({ outcome: 'rejected', reason: 'conflict', at: at(2) });

    history.push({ EventType: EventType.TaskScheduled, EventId: 2, Timestamp: at(2) }, started(3), {
      EventType: EventType.TaskCompleted,
      EventId: -1,
      Timestamp: at(3),
      TaskScheduledId: 2,
      Result: JSON.stringify({ ok: true, value: { recordId: 'r2' } }),
    });
    // The outcome is decided: the last step reports it (a refusal is a completed write, its code the reason).
    const reporting = await driver.episode(ORCHESTRATION_NAMES.updatePatient, {
      history,
      input: write,
      instanceId: 'i1',
    });
    expect(reporting.isDone).toBe(false);
    expect(reporting.actions.flat().at(-1)).toMatchObject({
      functionName: ACTIVITY_NAMES.report,
      input: { kind: 'updatePatient', instanceId: 'i1', outcome: 'completed', reason: 'conflict', at: at(3) },
    });

    completeReport(history, 3, 4);
    const done = await driver.episode(ORCHESTRATION_NAMES.updatePatient, { history, input: write, instanceId: 'i1' });
    expect(done).toMatchObject({
      isDone: true,
      output: { outcome: 'conflict', currentVersion: 6, auditRecorded: ['attempted', 'rejected'] },
    });
  });

  it('an attempt record that failed for good (retries exhausted) ends the write as unavailable without persisting', async () => {
    const { driver, input } = setup();
    const write = input('createPatient');
    const history: HistoryEvent[] = [
      started(0),
      { EventType: EventType.ExecutionStarted, EventId: -1, Timestamp: at(0), Name: ORCHESTRATION_NAMES.createPatient },
    ];
    // Five attempts, each failed and followed by its retry timer, as the host records them.
    let id = 0;
    for (let attempt = 1; attempt <= RETRY_POLICIES.audit.maxAttempts; attempt += 1) {
      const task = id++;
      history.push(
        { EventType: EventType.TaskScheduled, EventId: task, Timestamp: at(attempt * 10) },
        started(attempt * 10 + 1),
        {
          EventType: EventType.TaskFailed,
          EventId: -1,
          Timestamp: at(attempt * 10 + 1),
          TaskScheduledId: task,
          Reason: "Activity function 'auditWriteActivity' failed: connect ECONNREFUSED",
          Details: 'Error: connect ECONNREFUSED',
        },
      );
      const timer = id++;
      history.push(
        { EventType: EventType.TimerCreated, EventId: timer, Timestamp: at(attempt * 10 + 1) },
        started(attempt * 10 + 2),
        {
          EventType: EventType.TimerFired,
          EventId: -1,
          Timestamp: at(attempt * 10 + 2),
          TimerId: timer,
        },
      );
    }
    const reporting = await driver.episode(ORCHESTRATION_NAMES.createPatient, {
      history,
      input: write,
      instanceId: 'i2',
    });
    expect(reporting.actions.flat().at(-1)).toMatchObject({
      functionName: ACTIVITY_NAMES.report,
      input: { kind: 'createPatient', instanceId: 'i2', outcome: 'failed', reason: 'auditAttemptUnavailable' },
    });

    // Even an outcome step that fails for good leaves the write's result as it was.
    for (let attempt = 1; attempt <= RETRY_POLICIES.outcomeReport.maxAttempts; attempt += 1) {
      const task = id++;
      history.push(
        { EventType: EventType.TaskScheduled, EventId: task, Timestamp: at(100 + attempt * 10) },
        started(101 + attempt * 10),
        {
          EventType: EventType.TaskFailed,
          EventId: -1,
          Timestamp: at(101 + attempt * 10),
          TaskScheduledId: task,
          Reason: "Activity function 'reportWriteOutcomeActivity' failed: task hub unavailable",
          Details: 'Error: task hub unavailable',
        },
      );
      const timer = id++;
      history.push(
        { EventType: EventType.TimerCreated, EventId: timer, Timestamp: at(101 + attempt * 10) },
        started(102 + attempt * 10),
        {
          EventType: EventType.TimerFired,
          EventId: -1,
          Timestamp: at(102 + attempt * 10),
          TimerId: timer,
        },
      );
    }
    const state = await driver.episode(ORCHESTRATION_NAMES.createPatient, { history, input: write, instanceId: 'i2' });
    expect(state).toMatchObject({
      isDone: true,
      output: { outcome: 'unavailable', failure: { step: 'auditAttempt', compensated: false }, auditRecorded: [] },
    });
  });
});
