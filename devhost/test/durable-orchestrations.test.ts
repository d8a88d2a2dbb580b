// eslint-disable-next-line @typescript-eslint/no-require-imports
jest.mock('@azure/functions-core', () => require('./support/functions-core').functionsCore, { virtual: true });

import * as df from 'durable-functions';

import type { DurableEngine } from '../src/durable/contract';
import { createDurableEngine } from '../src/durable/engine';
import { replayHistory } from '../src/durable/replay';
import { executions, switches } from './fixtures/durable-app';
import { createInProcessInvoker } from './support/in-process-invoker';
import { type ManagementServer, serveManagementApi, waitForFinish } from './support/management-server';
import { describeEvents, rawHistory } from './support/raw-history';
import { useStore } from './support/store';

const hubName = 'Features';
// Declared before useStore: jest runs afterAll hooks in declaration order, and the engine must stop before the store.
afterAll(async () => {
  await server.close();
  await engine.stop();
});
const store = useStore('durable_features');
let engine: DurableEngine;
let server: ManagementServer;
const invoker = createInProcessInvoker();
const limits = { orchestrators: 6, activities: 5 };

beforeAll(async () => {
  engine = createDurableEngine({
    db: store.db(),
    hubName,
    invoker,
    maxConcurrentOrchestratorFunctions: limits.orchestrators,
    maxConcurrentActivityFunctions: limits.activities,
    log: (level, message, fields) => {
      if (process.env.ENGINE_DEBUG) process.stderr.write(`[${level}] ${message} ${JSON.stringify(fields)}\n`);
    },
  });
  await engine.start();
  server = await serveManagementApi(engine);
});

describe('retries are done host-side with the extension’s history sequence', () => {
  test('attempts exhausted: a timer after every failed attempt, including the last, then the failure', async () => {
    const client = server.client();
    const id = await client.startNew('RetryUncaught', { input: { key: 'exhausted', failures: 5, attempts: 2 } });
    const status = await waitForFinish(client, id);
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toContain('flaky failure 2 of exhausted');
    expect(executions.get('exhausted')).toBe(2);
    expect(describeEvents(await rawHistory(store.db(), hubName, id))).toEqual([
      'OrchestratorStarted', 'ExecutionStarted', 'TaskScheduled(0)', 'OrchestratorCompleted',
      'OrchestratorStarted', 'TaskFailed(0)', 'TimerCreated(1)', 'OrchestratorCompleted',
      'OrchestratorStarted', 'TimerFired(1)', 'TaskScheduled(2)', 'OrchestratorCompleted',
      'OrchestratorStarted', 'TaskFailed(2)', 'TimerCreated(3)', 'OrchestratorCompleted',
      'OrchestratorStarted', 'TimerFired(3)', 'ExecutionCompleted', 'OrchestratorCompleted',
    ]); // prettier-ignore
  });

  test('success on the third attempt, with delays first × backoff^k', async () => {
    const client = server.client();
    const id = await client.startNew('Retrying', { input: { key: 'third-time', failures: 2, attempts: 3 } });
    const status = await waitForFinish(client, id);
    expect(status.output).toBe('third-time ok after 3');
    const history = await rawHistory(store.db(), hubName, id);
    expect(describeEvents(history).filter((e) => !e.startsWith('Orchestrator'))).toEqual([
      'ExecutionStarted', 'TaskScheduled(0)', 'TaskFailed(0)', 'TimerCreated(1)', 'TimerFired(1)', 'TaskScheduled(2)',
      'TaskFailed(2)', 'TimerCreated(3)', 'TimerFired(3)', 'TaskScheduled(4)', 'TaskCompleted(4)', 'ExecutionCompleted',
    ]); // prettier-ignore
    const delays = history
      .filter((e) => e.EventType === 10)
      .map((e) => Date.parse(String(e.FireAt)) - Date.parse(e.Timestamp));
    expect(delays).toEqual([20, 40]);
    const failed = history.find((e) => e.EventType === 6);
    expect(failed).toMatchObject({ Reason: "Activity function 'Flaky' failed: flaky failure 1 of third-time" });
    expect(String(failed?.Details)).toContain('Error: flaky failure 1 of third-time');
  });

  test('an exhausted retry can be caught by the orchestrator', async () => {
    const client = server.client();
    const id = await client.startNew('Retrying', { input: { key: 'caught', failures: 9, attempts: 2 } });
    const status = await waitForFinish(client, id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe("gave up: Activity function 'Flaky' failed: flaky failure 2 of caught ");
  });
});

test('timers fire and move currentUtcDateTime forward', async () => {
  const client = server.client();
  const id = await client.startNew('Sleeper', { input: 50 });
  const status = await waitForFinish(client, id);
  expect(status.output).toBe(true);
  expect(describeEvents(await rawHistory(store.db(), hubName, id))).toContain('TimerFired(0)');
});

test('Task.all fans out and in', async () => {
  const client = server.client();
  const id = await client.startNew('FanOut', { input: ['a', 'b', 'c'] });
  const status = await waitForFinish(client, id);
  expect(status.output).toEqual(['Hello a', 'Hello b', 'Hello c']);
});

test('Task.any of an external event and a timer: the event wins, custom status follows', async () => {
  const client = server.client();
  const id = await client.startNew('Approval', { input: 600_000 });
  const deadline = Date.now() + 10_000;
  while ((await client.getStatus(id)).customStatus === null && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  expect((await client.getStatus(id)).customStatus).toEqual({ phase: 'waiting' });
  await client.raiseEvent(id, 'Approve', { by: 'tester' });
  const status = await waitForFinish(client, id);
  expect(status.output).toEqual({ approved: { by: 'tester' } });
  expect(status.customStatus).toEqual({ phase: 'done' });
});

test('Task.any of an external event and a timer: the timer wins', async () => {
  const client = server.client();
  const id = await client.startNew('Approval', { input: 30 });
  const status = await waitForFinish(client, id);
  expect(status.output).toBe('timed out');
});

test('sub-orchestrations run, return results, and report failures to the parent', async () => {
  const client = server.client();
  const id = await client.startNew('Parent', { input: ['x', 'y'] });
  const status = await waitForFinish(client, id);
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toEqual(['Hello x', 'Hello y', expect.stringContaining('child refused')]);
  const child = await client.getStatus(`${id}-failing-child`);
  expect(child.runtimeStatus).toBe('Failed');
  const history = (status.history as Record<string, unknown>[]).map((e) => e.EventType);
  expect(history.filter((e) => e === 'SubOrchestrationInstanceCompleted')).toHaveLength(2);
  expect(history).toContain('SubOrchestrationInstanceFailed');
});

test('continue-as-new starts a fresh execution with the new input', async () => {
  const client = server.client();
  const id = await client.startNew('Counter', { input: 0 });
  const status = await waitForFinish(client, id);
  expect(status.output).toBe('counted to 3');
  expect(status.input).toBe(3);
  const history = await rawHistory(store.db(), hubName, id);
  expect(history.filter((e) => e.EventType === 0)).toHaveLength(1);
  expect(history[1]).toMatchObject({ EventType: 0, Input: '3' });
});

test('an orchestrator that throws fails with its message', async () => {
  const client = server.client();
  const id = await client.startNew('Thrower');
  const status = await waitForFinish(client, id);
  expect(status.runtimeStatus).toBe('Failed');
  expect(String(status.output)).toContain('orchestrator broke');
});

test('suspend holds events until resume; terminate ends the instance with the reason', async () => {
  const client = server.client();
  const id = await client.startNew('WaitForGo');
  await client.suspend(id, 'hold on');
  await client.raiseEvent(id, 'Go', 'held');
  await client.resume(id, 'carry on');
  const status = await waitForFinish(client, id);
  expect(status.output).toBe('held');
  const types = (status.history as Record<string, unknown>[]).map((e) => e.EventType);
  expect(types.indexOf('ExecutionSuspended')).toBeGreaterThan(-1);
  expect(types.indexOf('ExecutionResumed')).toBeGreaterThan(types.indexOf('ExecutionSuspended'));
  expect(types.indexOf('EventRaised')).toBeGreaterThan(types.indexOf('ExecutionResumed'));

  const other = await client.startNew('WaitForGo');
  await client.terminate(other, 'no longer needed');
  const terminated = await waitForFinish(client, other);
  expect(terminated.runtimeStatus).toBe('Terminated');
  expect(terminated.output).toBe('no longer needed');
});

test('nondeterminism fails the instance naming the sequence number, the recorded event and the new action', async () => {
  const client = server.client();
  switches.shiftyUsesB = false;
  const id = await client.startNew('Shifty');
  const deadline = Date.now() + 10_000;
  while (
    !describeEvents(await rawHistory(store.db(), hubName, id).catch(() => [])).includes('TaskCompleted(0)') &&
    Date.now() < deadline
  ) {
    await new Promise((r) => setTimeout(r, 20));
  }
  switches.shiftyUsesB = true;
  try {
    await client.raiseEvent(id, 'Continue', null);
    const status = await waitForFinish(client, id);
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toContain(
      "Non-deterministic orchestrator: at sequence number 0 the history recorded TaskScheduled 'A', but the orchestrator now schedules CallActivity 'B'",
    );
  } finally {
    switches.shiftyUsesB = false;
  }
});

test('rewind runs the failed activity again and the instance completes', async () => {
  const client = server.client();
  const id = await client.startNew('FlakyOnce', { input: { key: 'rewound', failures: 1 } });
  expect((await waitForFinish(client, id)).runtimeStatus).toBe('Failed');
  await client.rewind(id, 'try again');
  const status = await waitForFinish(client, id);
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toBe('rewound ok after 2');
  expect(executions.get('rewound')).toBe(2);
});

test('200 concurrent orchestrations all complete', async () => {
  const client = server.client();
  const ids = await Promise.all(
    Array.from({ length: 200 }, (_, i) => client.startNew('TwoSteps', { instanceId: `bulk-${i}`, input: `n${i}` })),
  );
  const deadline = Date.now() + 120_000;
  let completed = 0;
  while (Date.now() < deadline) {
    const done = await client.getStatusBy({ runtimeStatus: [df.OrchestrationRuntimeStatus.Completed] });
    completed = done.filter((s) => s.instanceId.startsWith('bulk-')).length;
    if (completed === ids.length) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(completed).toBe(200);
  const sample = await client.getStatus('bulk-137');
  expect(sample.output).toEqual(['Hello n137', 'Hello n137 again']);
}, 150_000);

describe('replayHistory', () => {
  const invoke = (name: string) => (binding: Parameters<typeof invoker.invokeOrchestrator>[1]) =>
    invoker.invokeOrchestrator(name, binding);

  test('recorded histories replay cleanly: retries, fan-out, sub-orchestrations, timers, events', async () => {
    const client = server.client();
    const cases: [string, unknown][] = [
      ['Retrying', { key: 'replay-retry', failures: 1, attempts: 3 }],
      ['RetryUncaught', { key: 'replay-exhausted', failures: 9, attempts: 2 }],
      ['FanOut', ['r1', 'r2']],
      ['Parent', ['p1']],
      ['Sleeper', 10],
      ['Approval', 10],
    ];
    for (const [name, input] of cases) {
      const id = await client.startNew(name, { input });
      const finished = await waitForFinish(client, id);
      const result = await replayHistory(await rawHistory(store.db(), hubName, id), { invoke: invoke(name) });
      expect({ name, result }).toEqual({
        name,
        result: { ok: true, episodes: expect.any(Number), status: finished.runtimeStatus },
      });
    }
  });

  test('a changed orchestrator is reported at the first divergence', async () => {
    const client = server.client();
    switches.shiftyUsesB = false;
    const id = await client.startNew('Shifty');
    await client.raiseEvent(id, 'Continue', null);
    expect((await waitForFinish(client, id)).runtimeStatus).toBe('Completed');
    const history = await rawHistory(store.db(), hubName, id);
    expect(await replayHistory(history, { invoke: invoke('Shifty') })).toMatchObject({ ok: true, status: 'Completed' });
    switches.shiftyUsesB = true;
    try {
      const result = await replayHistory(history, { invoke: invoke('Shifty') });
      expect(result).toMatchObject({
        ok: false,
        episode: 1,
        sequenceNumber: 0,
        recorded: "TaskScheduled 'A'",
        now: "schedules CallActivity 'B'",
      });
    } finally {
      switches.shiftyUsesB = false;
    }
  });
});

test('maxConcurrentActivityFunctions and maxConcurrentOrchestratorFunctions cap invocations in flight', async () => {
  const client = server.client();
  const ids = await Promise.all(Array.from({ length: 6 }, () => client.startNew('SlowFanOut', { input: 10 })));
  for (const id of ids) expect((await waitForFinish(client, id)).output).toHaveLength(10);
  expect(invoker.peak.activities).toBe(limits.activities);
  // Orchestrator invocations in this process finish within one tick (the library's generator never
  // awaits), so they cannot overlap here; the host's worker invocations can.
  expect(invoker.peak.orchestrators).toBeLessThanOrEqual(limits.orchestrators);
});

test('a sub-orchestration with retry is created again after each failure, with the extension’s history', async () => {
  const client = server.client();
  const id = await client.startNew('RetryingParent', { input: { key: 'child-retry', failures: 2 } });
  const status = await waitForFinish(client, id);
  expect(status).toMatchObject({ runtimeStatus: 'Completed', output: 'child-retry ok after 3' });
  expect(describeEvents(await rawHistory(store.db(), hubName, id)).filter((e) => !e.startsWith('Orchestrator'))).toEqual([
    'ExecutionStarted',
    'SubOrchestrationInstanceCreated(0)', 'SubOrchestrationInstanceFailed(0)', 'TimerCreated(1)', 'TimerFired(1)',
    'SubOrchestrationInstanceCreated(2)', 'SubOrchestrationInstanceFailed(2)', 'TimerCreated(3)', 'TimerFired(3)',
    'SubOrchestrationInstanceCreated(4)', 'SubOrchestrationInstanceCompleted(4)',
    'ExecutionCompleted',
  ]); // prettier-ignore
  expect((await client.getStatus(`${id}:0`)).runtimeStatus).toBe('Failed');
  expect((await client.getStatus(`${id}:4`)).runtimeStatus).toBe('Completed');
});

test('after the retry timeout the remaining attempts fail at once, each with its timer, so the instance always ends', async () => {
  const client = server.client();
  const id = await client.startNew('RetryWithTimeout', { input: { key: 'timed-out-retry' } });
  const status = await waitForFinish(client, id);
  expect(status.runtimeStatus).toBe('Failed');
  expect(executions.get('timed-out-retry')).toBe(1);
  const events = describeEvents(await rawHistory(store.db(), hubName, id));
  expect(events.filter((e) => e.startsWith('TaskScheduled'))).toHaveLength(4);
  expect(events.filter((e) => e.startsWith('TimerFired'))).toHaveLength(4);
});
