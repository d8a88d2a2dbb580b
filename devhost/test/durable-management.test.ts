// eslint-disable-next-line @typescript-eslint/no-require-imports
jest.mock('@azure/functions-core', () => require('./support/functions-core').functionsCore, { virtual: true });

import './fixtures/durable-app';

import { HttpRequest } from '@azure/functions';
import * as df from 'durable-functions';

import type { DurableEngine } from '../src/durable/contract';
import { createDurableEngine } from '../src/durable/engine';
import { createInProcessInvoker } from './support/in-process-invoker';
import { type ManagementServer, serveManagementApi, waitForFinish } from './support/management-server';
import { useStore } from './support/store';

let engine: DurableEngine;
let server: ManagementServer;
// Declared before useStore: jest runs afterAll hooks in declaration order, and the engine must stop before the store.
afterAll(async () => {
  await server.close();
  await engine.stop();
});
const store = useStore('durable_management');

beforeAll(async () => {
  engine = createDurableEngine({
    db: store.db(),
    hubName: 'Mgmt',
    invoker: createInProcessInvoker(),
    maxConcurrentOrchestratorFunctions: 4,
    maxConcurrentActivityFunctions: 4,
    log: () => undefined,
  });
  await engine.start();
  server = await serveManagementApi(engine);
});

const rpc = (path: string, init?: RequestInit): Promise<Response> => fetch(`${server.rpcBaseUrl}${path}`, init);

describe('start', () => {
  test('with an instance id: 202, check-status links, Location and Retry-After', async () => {
    const response = await rpc('orchestrators/WaitForGo/start-links', {
      method: 'POST',
      body: '"x"',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('retry-after')).toBe('10');
    const body = (await response.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(
      [
        'id',
        'purgeHistoryDeleteUri',
        'restartPostUri',
        'resumePostUri',
        'rewindPostUri',
        'sendEventPostUri',
        'statusQueryGetUri',
        'suspendPostUri',
        'terminatePostUri',
      ].sort(),
    );
    expect(body.id).toBe('start-links');
    expect(body.statusQueryGetUri).toBe(
      `${server.webhookBaseUrl}/instances/start-links?taskHub=TestHub&connection=Storage`,
    );
    expect(body.sendEventPostUri).toBe(
      `${server.webhookBaseUrl}/instances/start-links/raiseEvent/{eventName}?taskHub=TestHub&connection=Storage`,
    );
    expect(body.terminatePostUri).toBe(
      `${server.webhookBaseUrl}/instances/start-links/terminate?reason={text}&taskHub=TestHub&connection=Storage`,
    );
    expect(response.headers.get('location')).toBe(body.statusQueryGetUri);
    await server.client().terminate('start-links', 'cleanup');
  });

  test('on a running id: 409 conflict; on a finished id: the instance starts again', async () => {
    const client = server.client();
    await client.startNew('WaitForGo', { instanceId: 'reused' });
    await expect(client.startNew('WaitForGo', { instanceId: 'reused' })).rejects.toThrow();
    const conflict = await rpc('orchestrators/WaitForGo/reused', { method: 'POST' });
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({
      error: { code: 'InstanceExists', message: expect.stringContaining('already exists') },
    });

    await client.raiseEvent('reused', 'Go', 'first');
    expect((await waitForFinish(client, 'reused')).output).toBe('first');
    await client.startNew('WaitForGo', { instanceId: 'reused' });
    const restarted = await client.getStatus('reused', { showHistory: true });
    expect(['Pending', 'Running']).toContain(restarted.runtimeStatus);
    await client.raiseEvent('reused', 'Go', 'second');
    const second = await waitForFinish(client, 'reused');
    expect(second.output).toBe('second');
    expect(
      (second.history as unknown[]).filter((e) => (e as { EventType: string }).EventType === 'EventRaised'),
    ).toHaveLength(1);
  });

  test('bad ids and bodies are 400', async () => {
    expect((await rpc('orchestrators/TwoSteps/%40entity', { method: 'POST' })).status).toBe(400);
    expect((await rpc('orchestrators/TwoSteps/a%23b', { method: 'POST' })).status).toBe(400);
    expect((await rpc('orchestrators/TwoSteps', { method: 'POST', body: '{not json' })).status).toBe(400);
  });

  test('with ?timeout: waits and answers 200 with the output', async () => {
    const response = await rpc('orchestrators/TwoSteps?timeout=30', {
      method: 'POST',
      body: '"Wait"',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(['Hello Wait', 'Hello Wait again']);
  });
});

describe('status', () => {
  test('202 while running, 200 when done; showInput, showHistory and showHistoryOutput shape the body', async () => {
    const client = server.client();
    const id = await client.startNew('WaitForGo', { input: { secret: 'in' } });
    const running = await rpc(`instances/${id}`);
    expect(running.status).toBe(202);
    expect(running.headers.get('location')).toContain(`/instances/${id}`);
    await client.raiseEvent(id, 'Go', 'out');
    await waitForFinish(client, id);

    const plain = await rpc(`instances/${id}`);
    expect(plain.status).toBe(200);
    const body = (await plain.json()) as Record<string, unknown>;
    expect(body).toEqual({
      name: 'WaitForGo',
      instanceId: id,
      runtimeStatus: 'Completed',
      input: { secret: 'in' },
      customStatus: null,
      output: 'out',
      createdTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      lastUpdatedTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    const noInput = (await (await rpc(`instances/${id}?showInput=false`)).json()) as Record<string, unknown>;
    expect(noInput.input).toBeNull();

    const withHistory = (await (await rpc(`instances/${id}?showHistory=true`)).json()) as {
      historyEvents: Record<string, unknown>[];
    };
    const completed = withHistory.historyEvents.find((e) => e.EventType === 'TaskCompleted');
    expect(completed).toMatchObject({ FunctionName: 'Echo', ScheduledTime: expect.any(String) });
    expect(completed).not.toHaveProperty('Result');
    expect(completed).not.toHaveProperty('EventId');
    expect(
      withHistory.historyEvents.some((e) => e.EventType === 'TaskScheduled' || e.EventType === 'OrchestratorStarted'),
    ).toBe(false);

    const status = await client.getStatus(id, { showHistory: true, showHistoryOutput: true });
    const withOutput = (status.history as Record<string, unknown>[]).find((e) => e.EventType === 'TaskCompleted');
    expect(withOutput?.Result).toBe('out');
  });

  test('a failed instance answers 200, or 500 with returnInternalServerErrorOnFailure', async () => {
    const client = server.client();
    const id = await client.startNew('CallsFail');
    expect((await waitForFinish(client, id)).runtimeStatus).toBe('Failed');
    expect((await rpc(`instances/${id}`)).status).toBe(200);
    expect((await rpc(`instances/${id}?returnInternalServerErrorOnFailure=true`)).status).toBe(500);
  });

  test('unknown instance: 404 and the client says so', async () => {
    expect((await rpc('instances/not-there')).status).toBe(404);
    await expect(server.client().getStatus('not-there')).rejects.toThrow();
  });
});

describe('list', () => {
  test('by runtime status and created time, with top and a continuation token', async () => {
    const client = server.client();
    const from = new Date(Date.now() - 1000);
    const ids = ['list-a', 'list-b', 'list-c'];
    for (const id of ids) await client.startNew('WaitForGo', { instanceId: id });
    const to = new Date(Date.now() + 1000);

    const running = await client.getStatusBy({
      createdTimeFrom: from,
      createdTimeTo: to,
      runtimeStatus: [df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending],
    });
    expect(
      running
        .map((s) => s.instanceId)
        .filter((id) => id.startsWith('list-'))
        .sort(),
    ).toEqual(ids);
    const all = await client.getStatusAll();
    expect(all.map((s) => s.instanceId)).toEqual(expect.arrayContaining(ids));
    const none = await client.getStatusBy({ createdTimeFrom: to });
    expect(none).toEqual([]);

    const firstPage = await rpc(`instances/?instanceIdPrefix=list-&top=2`);
    expect(firstPage.status).toBe(200);
    expect(((await firstPage.json()) as { instanceId: string }[]).map((s) => s.instanceId)).toEqual([
      'list-a',
      'list-b',
    ]);
    const token = firstPage.headers.get('x-ms-continuation-token');
    expect(token).toBeTruthy();
    const secondPage = await rpc(`instances/?instanceIdPrefix=list-&top=2`, {
      headers: { 'x-ms-continuation-token': token! },
    });
    expect(((await secondPage.json()) as { instanceId: string }[]).map((s) => s.instanceId)).toEqual(['list-c']);
    expect(secondPage.headers.get('x-ms-continuation-token')).toBeNull();
    expect((await rpc('instances/?runtimeStatus=Sleeping')).status).toBe(400);
    for (const id of ids) await client.terminate(id, 'cleanup');
  });
});

describe('raise event, terminate, suspend, resume', () => {
  test('status codes: 404 unknown, 410 finished, 400 without JSON content, 202 accepted', async () => {
    const client = server.client();
    expect(
      (
        await rpc('instances/ghost/raiseEvent/Go', {
          method: 'POST',
          body: '1',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(404);
    await expect(client.raiseEvent('ghost', 'Go', 1)).rejects.toThrow();
    expect((await rpc('instances/ghost/terminate', { method: 'POST' })).status).toBe(404);
    expect((await rpc('instances/ghost/suspend', { method: 'POST' })).status).toBe(404);

    const id = await client.startNew('WaitForGo');
    expect(
      (
        await rpc(`instances/${id}/raiseEvent/Go`, {
          method: 'POST',
          body: '1',
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(400);
    expect((await rpc(`instances/${id}/suspend?reason=pause`, { method: 'POST' })).status).toBe(202);
    const suspended = await waitForStatus(client, id, 'Suspended');
    expect(suspended.runtimeStatus).toBe('Suspended');
    expect((await rpc(`instances/${id}/resume?reason=go`, { method: 'POST' })).status).toBe(202);
    expect((await waitForStatus(client, id, 'Running')).runtimeStatus).toBe('Running');
    expect(
      (
        await rpc(`instances/${id}/raiseEvent/Go`, {
          method: 'POST',
          body: '"went"',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(202);
    expect((await waitForFinish(client, id)).output).toBe('went');

    expect(
      (
        await rpc(`instances/${id}/raiseEvent/Go`, {
          method: 'POST',
          body: '1',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(410);
    expect((await rpc(`instances/${id}/terminate`, { method: 'POST' })).status).toBe(410);
    expect((await rpc(`instances/${id}/suspend`, { method: 'POST' })).status).toBe(410);
    expect((await rpc(`instances/${id}/resume`, { method: 'POST' })).status).toBe(410);
    // The client treats 410 as done, as with the extension.
    await client.terminate(id, 'too late');
    await client.raiseEvent(id, 'Go', 2);
  });

  test('terminate through the client records the reason', async () => {
    const client = server.client();
    const id = await client.startNew('WaitForGo');
    await client.terminate(id, 'stop it');
    const status = await waitForFinish(client, id);
    expect(status).toMatchObject({ runtimeStatus: 'Terminated', output: 'stop it' });
  });
});

describe('rewind', () => {
  test('410 for a completed instance, 412 for a running one, 202 and completion for a failed one', async () => {
    const client = server.client();
    const done = await client.startNew('TwoSteps', { input: 'r' });
    await waitForFinish(client, done);
    expect((await rpc(`instances/${done}/rewind?reason=x`, { method: 'POST' })).status).toBe(410);
    const running = await client.startNew('WaitForGo');
    expect((await rpc(`instances/${running}/rewind?reason=x`, { method: 'POST' })).status).toBe(412);
    await client.terminate(running, 'cleanup');

    const failed = await client.startNew('FlakyOnce', { input: { key: 'mgmt-rewind', failures: 1 } });
    expect((await waitForFinish(client, failed)).runtimeStatus).toBe('Failed');
    await client.rewind(failed, 'fixed it');
    expect((await waitForFinish(client, failed)).output).toBe('mgmt-rewind ok after 2');
  });
});

describe('purge', () => {
  test('one: 200 with the count, then 404; many: by time and status', async () => {
    const client = server.client();
    const id = await client.startNew('TwoSteps', { input: 'p' });
    await waitForFinish(client, id);
    expect(await client.purgeInstanceHistory(id)).toMatchObject({ instancesDeleted: 1 });
    expect((await rpc(`instances/${id}`)).status).toBe(404);
    expect((await rpc(`instances/${id}`, { method: 'DELETE' })).status).toBe(404);
    expect(await client.purgeInstanceHistory(id)).toMatchObject({ instancesDeleted: 0 });

    const from = new Date(Date.now() - 1000);
    const a = await client.startNew('TwoSteps', { input: 'pa' });
    const b = await client.startNew('TwoSteps', { input: 'pb' });
    await waitForFinish(client, a);
    await waitForFinish(client, b);
    expect((await rpc('instances/', { method: 'DELETE' })).status).toBe(400);
    const purged = await client.purgeInstanceHistoryBy({
      createdTimeFrom: from,
      runtimeStatus: [df.OrchestrationRuntimeStatus.Completed],
    });
    expect(purged.instancesDeleted).toBeGreaterThanOrEqual(2);
    expect((await rpc(`instances/${a}`)).status).toBe(404);
    const again = await rpc(
      `instances/?createdTimeFrom=${encodeURIComponent(from.toISOString())}&runtimeStatus=Completed`,
      { method: 'DELETE' },
    );
    expect(again.status).toBe(404);
  });
});

describe('client helpers that combine calls', () => {
  test('waitForCompletionOrCreateCheckStatusResponse and createCheckStatusResponse', async () => {
    const client = server.client();
    const request = new HttpRequest({ method: 'POST', url: `${server.origin}/api/start` });
    const id = await client.startNew('TwoSteps', { input: 'helper' });
    const response = await client.waitForCompletionOrCreateCheckStatusResponse(request, id, {
      timeoutInMilliseconds: 20_000,
      retryIntervalInMilliseconds: 50,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(['Hello helper', 'Hello helper again']);

    const check = client.createCheckStatusResponse(request, id);
    expect(check.status).toBe(202);
    const links = (await check.json()) as Record<string, string>;
    expect(links.statusQueryGetUri).toContain(`${server.origin}/runtime/webhooks/durabletask/instances/${id}`);
    const viaLink = await fetch(links.statusQueryGetUri!);
    expect(viaLink.status).toBe(200);
  });
});

async function waitForStatus(
  client: df.DurableClient,
  id: string,
  wanted: string,
): Promise<df.DurableOrchestrationStatus> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const status = await client.getStatus(id);
    if ((status.runtimeStatus as string) === wanted || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('restart', () => {
  test('a finished instance restarts with the same input, under a new id or its own', async () => {
    const client = server.client();
    const id = await client.startNew('TwoSteps', { instanceId: 'to-restart', input: 'again' });
    await waitForFinish(client, id);
    const fresh = await rpc(`instances/${id}/restart`, { method: 'POST' });
    expect(fresh.status).toBe(202);
    const freshId = ((await fresh.json()) as { id: string }).id;
    expect(freshId).not.toBe(id);
    expect(await waitForFinish(client, freshId)).toMatchObject({
      name: 'TwoSteps',
      input: 'again',
      output: ['Hello again', 'Hello again again'],
    });

    const same = await rpc(`instances/${id}/restart?restartWithNewInstanceId=false`, { method: 'POST' });
    expect(same.status).toBe(202);
    expect(((await same.json()) as { id: string }).id).toBe(id);
    expect((await waitForFinish(client, id)).runtimeStatus).toBe('Completed');
    expect((await rpc('instances/nobody/restart', { method: 'POST' })).status).toBe(404);
  });
});
