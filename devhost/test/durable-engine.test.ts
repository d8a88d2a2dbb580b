// eslint-disable-next-line @typescript-eslint/no-require-imports
jest.mock('@azure/functions-core', () => require('./support/functions-core').functionsCore, { virtual: true });

import './fixtures/durable-app';

import type { DurableEngine } from '../src/durable/contract';
import { createDurableEngine } from '../src/durable/engine';
import { createInProcessInvoker } from './support/in-process-invoker';
import { type ManagementServer, serveManagementApi, waitForFinish } from './support/management-server';
import { useStore } from './support/store';

// Declared before useStore: jest runs afterAll hooks in declaration order, and the engine must stop before the store.
afterAll(async () => {
  await server.close();
  await engine.stop();
});
const store = useStore('durable_engine');
let engine: DurableEngine;
let server: ManagementServer;
const invoker = createInProcessInvoker();
const logs: { level: string; message: string; fields?: Record<string, unknown> }[] = [];

beforeAll(async () => {
  engine = createDurableEngine({
    db: store.db(),
    hubName: 'TestHub',
    invoker,
    maxConcurrentOrchestratorFunctions: 8,
    maxConcurrentActivityFunctions: 8,
    log: (level, message, fields) => {
      if (process.env.ENGINE_DEBUG) process.stderr.write(`[${level}] ${message}\n`);
      logs.push({ level, message, ...(fields ? { fields } : {}) });
    },
  });
  await engine.start();
  server = await serveManagementApi(engine);
});

test('a two-activity orchestration runs to completion and its history reads like the extension’s', async () => {
  const client = server.client();
  const id = await client.startNew('TwoSteps', { input: 'Ada' });
  const status = await waitForFinish(client, id);
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toEqual(['Hello Ada', 'Hello Ada again']);
  expect(status.input).toBe('Ada');
  expect(status.name).toBe('TwoSteps');
  const history = status.history as Record<string, unknown>[];
  expect(history.map((e) => e.EventType)).toEqual([
    'ExecutionStarted',
    'TaskCompleted',
    'TaskCompleted',
    'ExecutionCompleted',
  ]);
  expect(history[0]).toMatchObject({ FunctionName: 'TwoSteps' });
  expect(history[1]).toMatchObject({ FunctionName: 'SayHello', Result: 'Hello Ada' });
  expect(history[3]).toMatchObject({ OrchestrationStatus: 'Completed', Result: ['Hello Ada', 'Hello Ada again'] });
});

test('the status is queryable as Pending or later as soon as start returns', async () => {
  const client = server.client();
  const id = await client.startNew('WaitForGo', { instanceId: 'queryable-at-once' });
  const status = await client.getStatus(id);
  expect(['Pending', 'Running']).toContain(status.runtimeStatus);
  await client.raiseEvent(id, 'Go', { value: 1 });
  const done = await waitForFinish(client, id);
  expect(done.output).toEqual({ value: 1 });
});

test('an activity that throws fails the orchestration with its message and stack in history and the log', async () => {
  const client = server.client();
  const id = await client.startNew('CallsFail');
  const status = await waitForFinish(client, id);
  expect(status.runtimeStatus).toBe('Failed');
  expect(String(status.output)).toContain("Orchestrator function 'CallsFail' failed");
  expect(String(status.output)).toContain('activity exploded');
  const failed = (status.history as Record<string, unknown>[]).find((e) => e.EventType === 'TaskFailed');
  expect(failed).toMatchObject({ FunctionName: 'Fail', Reason: "Activity function 'Fail' failed: activity exploded" });
  expect(String(failed?.Details)).toContain('durable-app.ts');
  const logged = logs.find((l) => l.message.includes("Activity 'Fail' failed"));
  expect(logged?.fields?.invocationId).toEqual(expect.any(String));
  expect(logged?.fields?.instanceId).toBe(id);
});

test('an unknown activity name fails the instance instead of hanging', async () => {
  const client = server.client();
  const id = await client.startNew('CallsUnknown');
  const status = await waitForFinish(client, id);
  expect(status.runtimeStatus).toBe('Failed');
  expect(String(status.output)).toContain("The activity function 'NoSuchActivity' does not exist");
});

test('starting an unknown orchestrator is a 400', async () => {
  const client = server.client();
  await expect(client.startNew('NoSuchOrchestrator')).rejects.toThrow();
  const response = await fetch(`${server.rpcBaseUrl}orchestrators/NoSuchOrchestrator`, { method: 'POST' });
  expect(response.status).toBe(400);
  expect(await response.json()).toMatchObject({ error: { code: 'BadRequest' } });
});

test('an unknown instance is a 404 for status', async () => {
  const response = await fetch(`${server.rpcBaseUrl}instances/nobody-here`);
  expect(response.status).toBe(404);
});

test('when the host cannot run functions (worker restarting), the work is kept and runs once it can', async () => {
  const client = server.client();
  invoker.unavailable = true;
  try {
    const id = await client.startNew('TwoSteps', { input: 'later' });
    const deadline = Date.now() + 10_000;
    while (!logs.some((l) => l.message.includes("could not run orchestrator 'TwoSteps'")) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await client.getStatus(id)).runtimeStatus).toBe('Pending');
    invoker.unavailable = false;
    const status = await waitForFinish(client, id);
    expect(status.output).toEqual(['Hello later', 'Hello later again']);
  } finally {
    invoker.unavailable = false;
  }
});
