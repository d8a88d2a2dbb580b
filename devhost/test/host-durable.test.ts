/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies from the wire */
import path from 'node:path';

import { fixturesDir, useDevhost, useTempDir } from './support/devhost';
import { uniqueDatabaseName, useStore } from './support/store';

const store = useStore('host_durable');
const tmp = useTempDir();
const { host, logs } = useDevhost(() => ({
  appDir: path.join(fixturesDir, 'durable-client-app'),
  keysFile: path.join(tmp(), 'keys.json'),
  mongoUri: store.store().uri,
  databaseName: uniqueDatabaseName('host_durable_hub'),
  hubName: 'HostDurableHub',
}));

async function post(route: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${host().url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Polls a status URL until the instance is no longer running (bounded). */
async function finished(statusUrl: string): Promise<any> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const response = await fetch(statusUrl);
    const body = (await response.json()) as any;
    if (!['Pending', 'Running'].includes(body.runtimeStatus)) return body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${statusUrl} did not finish`);
}

describe('Durable Functions through the devhost', () => {
  it('registers orchestrators and activities and hands them to the engine', () => {
    expect(host().functions()).toMatchObject({
      orchestrators: ['Greet', 'FailOnce', 'AwaitApproval'],
      activities: ['SayHello', 'Explode', 'WhoAmI'],
    });
  });

  it('runs an orchestration started by the real DurableClient in an HTTP starter, and waits for it', async () => {
    const response = await post('/api/orchestrators/Greet/wait', 'Ada');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(['Hello Ada', 'Hello Ada again']);
  });

  it('hands out check-status links on the caller origin, keyed with the system key', async () => {
    const response = await post('/api/orchestrators/Greet', 'Bo', {
      'x-functions-key': host().keys().hostKeys.default!,
    });
    expect(response.status).toBe(202);
    const links = (await response.json()) as Record<string, string>;
    const statusUrl = new URL(links.statusQueryGetUri!);
    expect(statusUrl.origin).toBe(host().url);
    expect(statusUrl.pathname).toBe(`/runtime/webhooks/durabletask/instances/${links.id!}`);
    expect(statusUrl.searchParams.get('code')).toBe(host().keys().systemKeys.durabletask_extension);
    expect(statusUrl.searchParams.get('taskHub')).toBe('HostDurableHub');
    expect(response.headers.get('location')).toBe(links.statusQueryGetUri);

    const status = await finished(statusUrl.toString());
    expect(status).toMatchObject({ runtimeStatus: 'Completed', output: ['Hello Bo', 'Hello Bo again'] });
  });

  it('keeps the management webhooks behind the master or system key', async () => {
    const base = `${host().url}/runtime/webhooks/durabletask/instances`;
    expect((await fetch(base)).status).toBe(401);
    expect((await fetch(`${base}?code=${host().keys().hostKeys.default!}`)).status).toBe(401);
    const listed = await fetch(base, { headers: { 'x-functions-key': host().masterKey } });
    expect(listed.status).toBe(200);
    expect(Array.isArray(await listed.json())).toBe(true);
  });

  it('fails the instance when an activity throws, and logs the failure with its invocation id', async () => {
    const response = await post('/api/orchestrators/FailOnce/wait', 'zebra');
    expect(response.status).toBe(500);
    const failed = await logs.waitFor(
      (entry) => entry.level === 'error' && entry.message.includes("Executed 'Functions.Explode' (Failed"),
    );
    expect(failed.message).toContain('activity exploded on zebra');
    expect(failed.message).toContain(`Id=${failed.invocationId ?? 'none'}`);
  });

  it('gives a durableClient input to an activity, and keeps waiting orchestrations across a worker reload', async () => {
    const started = await post('/api/orchestrators/AwaitApproval', null, { 'x-functions-key': host().masterKey });
    const links = (await started.json()) as Record<string, string>;
    const statusUrl = links.statusQueryGetUri!;
    const waiting = await fetch(statusUrl);
    expect(((await waiting.json()) as any).runtimeStatus).toMatch(/Pending|Running/);

    const pidBefore = host().workerPid();
    await host().reload();
    expect(host().workerPid()).not.toBe(pidBefore);

    expect((await post(`/api/approve/${links.id!}`, { by: 'lead' })).status).toBe(202);
    const status = await finished(statusUrl);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({
      approval: { by: 'lead' },
      seenBy: { pid: host().workerPid(), runtimeStatus: 'Running' },
    });
  });
});
