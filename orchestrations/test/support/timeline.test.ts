import { buildWriteTimeline, HistoryFormatError, readHistory } from '../../src/support';
import { compensatedRaw, retriedConverted, succeededConverted } from './histories';

describe('readHistory', () => {
  it('merges raw scheduling events into their completions and parses JSON text', () => {
    const events = readHistory(compensatedRaw);
    expect(events.map((event) => event.type)).not.toContain('OrchestratorStarted');
    expect(events.map((event) => event.type)).not.toContain('TaskScheduled');
    const persist = events.find((event) => event.name === 'persistWriteActivity');
    expect(persist).toMatchObject({
      type: 'TaskCompleted',
      scheduledTime: '2026-12-02T12:00:00.045Z',
      result: { ok: true, version: 1 },
      sequenceId: 1,
    });
    const end = events[events.length - 1];
    expect(end).toMatchObject({
      type: 'ExecutionCompleted',
      orchestrationStatus: 'Completed',
      result: { outcome: 'unavailable' },
    });
  });

  it('keeps a task scheduled but not finished, so a running instance shows its pending step', () => {
    const running = compensatedRaw.slice(0, 8);
    const events = readHistory(running);
    expect(events[events.length - 1]).toMatchObject({ type: 'TaskScheduled', name: 'persistWriteActivity' });
    const timeline = buildWriteTimeline(events);
    expect(timeline.steps[timeline.steps.length - 1]).toMatchObject({
      name: 'persistWriteActivity',
      status: 'running',
    });
    expect(timeline.end).toBeUndefined();
  });

  it('rejects what is not a history', () => {
    expect(() => readHistory({ events: [] })).toThrow(HistoryFormatError);
    expect(() => readHistory([{ EventType: 'Bogus', Timestamp: 'x' }])).toThrow(/unknown EventType/);
  });
});

describe('buildWriteTimeline', () => {
  it('shows each step of a successful write with durations and audit labels', () => {
    const timeline = buildWriteTimeline(readHistory(succeededConverted));
    expect(timeline.orchestrator).toBe('createPatientOrchestrator');
    expect(timeline.durationMs).toBe(140);
    expect(timeline.endStatus).toBe('Completed');
    expect(timeline.steps.map((step) => [step.label, step.attempts, step.status, step.durationMs])).toEqual([
      ['audit: attempted', 1, 'completed', 40],
      ['persist', 1, 'completed', 30],
      ['audit: succeeded', 1, 'completed', 30],
    ]);
    expect(timeline.summary).toEqual({ attempts: 3, failedAttempts: 0, retries: 0, compensationSteps: 0 });
  });

  it('groups a failed attempt, its retry timer and the next attempt into one step', () => {
    const timeline = buildWriteTimeline(readHistory(retriedConverted));
    const first = timeline.steps[0]!;
    expect(first).toMatchObject({
      name: 'auditWriteActivity',
      attempts: 2,
      status: 'completed',
      start: '2026-12-02T11:00:00.010Z',
      end: '2026-12-02T11:00:01.070Z',
    });
    const stepEntries = timeline.entries.filter((entry) => entry.step === first.step);
    expect(stepEntries.map((entry) => [entry.kind, entry.attempt, entry.status])).toEqual([
      ['activity', 1, 'failed'],
      ['retryTimer', undefined, 'fired'],
      ['activity', 2, 'completed'],
    ]);
    // The failure reason is the first line only: no stack trace.
    expect(stepEntries[0]!.failure).toEqual({
      reason: "Activity function 'auditWriteActivity' failed: connect ECONNREFUSED 127.0.0.1:7072",
      details: 'Error: connect ECONNREFUSED 127.0.0.1:7072',
    });
    expect(stepEntries[1]).toMatchObject({ durationMs: 1005, fireAt: '2026-12-02T11:00:01.020Z' });
    expect(timeline.summary).toEqual({ attempts: 4, failedAttempts: 1, retries: 1, compensationSteps: 0 });
  });

  it('marks compensation steps and a step that failed for good after its retries', () => {
    const timeline = buildWriteTimeline(readHistory(compensatedRaw));
    expect(timeline.steps.map((step) => [step.label, step.attempts, step.status, step.compensation ?? false])).toEqual([
      ['audit: attempted', 1, 'completed', false],
      ['persist', 1, 'completed', false],
      ['audit: succeeded', 2, 'failed', false],
      ['undo (compensation)', 1, 'completed', true],
      ['audit: compensated', 1, 'completed', true],
    ]);
    expect(timeline.steps[2]!.failure?.reason).toBe(
      "Activity function 'auditWriteActivity' failed: audit-app answered 503",
    );
    // Retry timers are matched to their TimerFired by id in the raw shape.
    const timers = timeline.entries.filter((entry) => entry.kind === 'retryTimer');
    expect(timers.map((timer) => [timer.status, timer.durationMs])).toEqual([
      ['fired', 1009],
      ['fired', 2009],
    ]);
    expect(timeline.summary).toEqual({ attempts: 6, failedAttempts: 2, retries: 1, compensationSteps: 2 });
  });

  it('does not treat the next call of the same activity with another input as a retry', () => {
    const timeline = buildWriteTimeline(readHistory(compensatedRaw));
    const audits = timeline.steps.filter((step) => step.name === 'auditWriteActivity');
    expect(audits).toHaveLength(3);
  });

  it('redacts personal data that reaches results and failure texts', () => {
    const history = [
      {
        EventType: 'ExecutionStarted',
        FunctionName: 'createPatientOrchestrator',
        Timestamp: '2026-12-02T10:00:00.000Z',
      },
      {
        EventType: 'TaskCompleted',
        FunctionName: 'persistWriteActivity',
        Result: { ok: true, document: { firstName: 'Ada', postCode: '2000' } },
        ScheduledTime: '2026-12-02T10:00:00.010Z',
        Timestamp: '2026-12-02T10:00:00.020Z',
      },
    ];
    const timeline = buildWriteTimeline(readHistory(history));
    expect(JSON.stringify(timeline)).not.toContain('Ada');
    expect(timeline.entries[0]!.result).toEqual({
      ok: true,
      document: { firstName: '[redacted]', postCode: '[redacted]' },
    });
  });

  it('reports a terminated orchestration with its reason', () => {
    const history = [
      ...succeededConverted.slice(0, 2),
      {
        EventType: 'ExecutionTerminated',
        Input: 'stuck after audit-app outage',
        Timestamp: '2026-12-02T10:05:00.000Z',
      },
    ];
    const timeline = buildWriteTimeline(readHistory(history));
    expect(timeline).toMatchObject({
      endStatus: 'Terminated',
      endReason: 'stuck after audit-app outage',
      durationMs: 300000,
    });
  });
});
