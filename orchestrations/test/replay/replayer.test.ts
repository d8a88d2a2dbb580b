import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import * as df from 'durable-functions';

import {
  assertReplays,
  EXPORT_FORMAT,
  formatReplay,
  OrchestratorRegistry,
  readRecording,
  replay,
  replayHistories,
} from '../../src/replay';
import { audit, compensatedRaw, input, retriedConverted, succeededConverted } from '../support/histories';

type Input = typeof input;

/**
 * A saga shaped like the write orchestrations the fixtures were recorded from: audit "attempted",
 * persist, audit "succeeded"; when the last audit fails for good, undo and record "compensated".
 * Options let a test change it the way a developer might.
 */
function saga(
  change: { persistFirst?: boolean; auditAttempts?: number; skipUndo?: boolean; outcome?: string } = {},
): OrchestrationHandler {
  return function* (context: OrchestrationContext): Generator<Task, unknown, unknown> {
    const writeInput = context.df.getInput<Input>();
    const retry = new df.RetryOptions(1000, change.auditAttempts ?? 2);
    retry.backoffCoefficient = 2;
    const recorded: string[] = [];
    if (change.persistFirst === true)
      yield context.df.callActivity('persistWriteActivity', { kind: writeInput.kind, patientId: writeInput.patientId });
    yield context.df.callActivityWithRetry('auditWriteActivity', retry, audit('attempted'));
    recorded.push('attempted');
    const stored = (yield context.df.callActivity('persistWriteActivity', {
      kind: writeInput.kind,
      patientId: writeInput.patientId,
    })) as { version: number };
    try {
      yield context.df.callActivityWithRetry('auditWriteActivity', retry, audit('succeeded'));
      recorded.push('succeeded');
    } catch {
      if (change.skipUndo !== true)
        yield context.df.callActivity('undoWriteActivity', { kind: writeInput.kind, patientId: writeInput.patientId });
      yield context.df.callActivityWithRetry('auditWriteActivity', retry, audit('compensated'));
      recorded.push('compensated');
      return {
        v: 1,
        kind: writeInput.kind,
        operationId: writeInput.operationId,
        patientId: writeInput.patientId,
        outcome: 'unavailable',
        failure: { step: 'auditResult', compensated: true },
        auditRecorded: recorded,
      };
    }
    return {
      v: 1,
      kind: writeInput.kind,
      operationId: writeInput.operationId,
      patientId: writeInput.patientId,
      outcome: change.outcome ?? 'created',
      version: stored.version,
      auditRecorded: recorded,
    };
  };
}

function registry(change: Parameters<typeof saga>[0] = {}): OrchestratorRegistry {
  const orchestrators = new OrchestratorRegistry();
  orchestrators.orchestration('createPatientOrchestrator', saga(change));
  return orchestrators;
}

describe('replay with the real durable-functions engine', () => {
  it.each([
    ['a write that succeeded (management API shape)', succeededConverted, 3],
    ['a write retried after a failed audit call (management API shape)', retriedConverted, 3],
    ['a compensated write with retries (raw Durable Task shape)', compensatedRaw, 5],
  ])('replays %s on the recorded path', async (_name, history, steps) => {
    const result = await replay(readRecording(history), registry().invoke);
    expect(result.divergence).toBeUndefined();
    expect(result).toMatchObject({ ok: true, end: 'completed' });
    expect(result.path.filter((line) => line.what.startsWith('activity'))).toHaveLength(steps);
    expect(result.warnings).toEqual([]);
  });

  it('prints retries on the path', async () => {
    const result = await replay(readRecording(compensatedRaw), registry().invoke);
    expect(result.path.map((line) => `${line.step} ${line.what}: ${line.outcome}`)).toEqual([
      '1 activity auditWriteActivity (audit: attempted): completed',
      '2 activity persistWriteActivity (persist): completed',
      '3 activity auditWriteActivity (audit: succeeded): failed after 2 attempts',
      "3 retry delay for auditWriteActivity: after attempt 1 failed: Activity function 'auditWriteActivity' failed: audit-app answered 503",
      "3 retry delay for auditWriteActivity: after attempt 2 failed: Activity function 'auditWriteActivity' failed: audit-app answered 503",
      '4 activity undoWriteActivity (undo (compensation)): completed',
      '5 activity auditWriteActivity (audit: compensated): completed',
      '5 end: completed with the recorded result',
    ]);
  });

  it('stops at the first divergence when the order of steps changed', async () => {
    const result = await replay(readRecording(succeededConverted), registry({ persistFirst: true }).invoke);
    expect(result.ok).toBe(false);
    expect(result.divergence).toEqual({
      step: 1,
      message: "today's code takes another path at step 1",
      recorded: 'activity auditWriteActivity (audit: attempted): completed',
      today: 'CallActivity persistWriteActivity',
    });
  });

  it('catches a retry policy that no longer matches the recorded attempts', async () => {
    const result = await replay(readRecording(compensatedRaw), registry({ auditAttempts: 1 }).invoke);
    expect(result.ok).toBe(false);
    // With one attempt, today's code gives up (and compensates) after the first failure; the recording retried.
    expect(result.divergence).toEqual({
      step: 3,
      message:
        "the recording has another attempt or call of auditWriteActivity that today's code (and its retry policy) does not make",
      recorded: 'auditWriteActivity: 2 attempts',
      today: 'gives up after 1 attempt',
    });
  });

  it('catches a missing compensation step', async () => {
    const result = await replay(readRecording(compensatedRaw), registry({ skipUndo: true }).invoke);
    expect(result.divergence).toMatchObject({
      step: 4,
      recorded: 'activity undoWriteActivity (undo (compensation)): completed',
    });
  });

  it('catches another result on the same path', async () => {
    const result = await replay(readRecording(succeededConverted), registry({ outcome: 'updated' }).invoke);
    expect(result.divergence).toMatchObject({ message: "today's code completes with another result" });
    expect(result.divergence?.today).toContain('"outcome":"updated"');
  });

  it('replays a recording of a running instance up to where it stops', async () => {
    const running = compensatedRaw.slice(0, 16);
    const result = await replay(readRecording(running), registry().invoke);
    expect(result).toMatchObject({ ok: true, end: 'running' });
  });

  it('reports an unknown orchestrator clearly', async () => {
    await expect(
      replay(readRecording(succeededConverted, { orchestrator: 'nope' }), registry().invoke),
    ).rejects.toThrow(/no orchestrator registered as nope \(known: createPatientOrchestrator\)/);
  });
});

describe('readRecording', () => {
  it('reads a support export, a management API status and a bare array alike', () => {
    const status = {
      name: 'createPatientOrchestrator',
      instanceId: 'op-7f3a',
      runtimeStatus: 'Completed',
      input,
      output: null,
      createdTime: '2026-12-02T10:00:00Z',
      lastUpdatedTime: '2026-12-02T10:00:01Z',
      historyEvents: succeededConverted,
    };
    const exported = {
      format: EXPORT_FORMAT,
      version: 1,
      exportedAt: '2026-12-02T12:00:00Z',
      instance: status,
      history: succeededConverted,
    };
    for (const document of [status, exported, succeededConverted]) {
      const recording = readRecording(document);
      expect(recording).toMatchObject({ orchestrator: 'createPatientOrchestrator', input });
      expect(recording.events).toHaveLength(5);
    }
    expect(readRecording(status).instanceId).toBe('op-7f3a');
  });

  it('says what is missing', () => {
    expect(() => readRecording({ name: 'x', instanceId: 'i', runtimeStatus: 'Completed' })).toThrow(/showHistory=true/);
    expect(() => readRecording([{ EventType: 'TaskCompleted', FunctionName: 'a', Timestamp: 't' }])).toThrow(
      /--orchestrator/,
    );
    expect(() => readRecording('text')).toThrow(/not a history/);
  });
});

describe('replayHistories', () => {
  const folder = mkdtempSync(join(tmpdir(), 'replay-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  writeFileSync(join(folder, 'a-succeeded.json'), JSON.stringify(succeededConverted));
  writeFileSync(join(folder, 'b-retried.json'), JSON.stringify(retriedConverted));
  writeFileSync(join(folder, 'c-compensated.json'), JSON.stringify(compensatedRaw));
  writeFileSync(join(folder, 'notes.txt'), 'not a history');

  it('replays every history in a folder', async () => {
    const results = await replayHistories(folder, registry().invoke);
    expect(results.map(({ file, result }) => [file.slice(folder.length + 1), result.ok])).toEqual([
      ['a-succeeded.json', true],
      ['b-retried.json', true],
      ['c-compensated.json', true],
    ]);
  });

  it('fails a regression test with a readable report when the orchestrator changed', async () => {
    await expect(
      assertReplays(join(folder, 'a-succeeded.json'), registry({ persistFirst: true }).invoke),
    ).rejects.toThrow(
      /DIVERGENCE at step 1: today's code takes another path at step 1\n {2}recorded: activity auditWriteActivity \(audit: attempted\): completed\n {2}today: {4}CallActivity persistWriteActivity/,
    );
  });

  it('formats a clean replay with its path', async () => {
    const text = formatReplay(await assertReplays(join(folder, 'b-retried.json'), registry().invoke));
    expect(text).toContain('retry delay for auditWriteActivity');
    expect(text).toMatch(/OK: today's code takes the recorded path; the orchestration completed/);
  });
});
