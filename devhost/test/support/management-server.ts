/**
 * Serves a DurableEngine's management API over loopback HTTP (under both the rpc base and the
 * webhook base, as the host does) and builds the real durable-functions DurableClient against it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';

import type { DurableEngine } from '../../src/durable/contract';

export interface ManagementServer {
  readonly origin: string;
  readonly rpcBaseUrl: string;
  readonly webhookBaseUrl: string;
  /** A DurableClient exactly as app code gets it from `df.getClient(context)`. */
  client(): df.DurableClient;
  close(): Promise<void>;
}

const hubName = 'TestHub';

export async function serveManagementApi(engine: DurableEngine): Promise<ManagementServer> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const prefix = ['/durabletask/', '/runtime/webhooks/durabletask/'].find((p) => url.pathname.startsWith(p));
      if (!prefix) {
        res.writeHead(404).end();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
      const address = server.address() as AddressInfo;
      engine
        .handle({
          method: req.method ?? 'GET',
          path: url.pathname.slice(prefix.length),
          query: url.searchParams,
          headers,
          body: Buffer.concat(chunks),
          links: {
            baseUrl: `http://127.0.0.1:${address.port}/runtime/webhooks/durabletask`,
            requiredQuery: `taskHub=${hubName}&connection=Storage`,
          },
        })
        .then((response) => {
          const body = response.body === undefined ? undefined : JSON.stringify(response.body);
          res.writeHead(response.status, {
            ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
            ...response.headers,
          });
          res.end(body);
        })
        .catch((error: unknown) => {
          res
            .writeHead(500, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: { code: 'Internal', message: String(error) } }));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const webhookBaseUrl = `${origin}/runtime/webhooks/durabletask`;
  const rpcBaseUrl = `${origin}/durabletask/`;
  return {
    origin,
    rpcBaseUrl,
    webhookBaseUrl,
    client: () => createDurableClient(origin),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A DurableClient exactly as app code gets it from `df.getClient(context)`, for a management API at `origin`. */
export function createDurableClient(origin: string): df.DurableClient {
  const webhookBaseUrl = `${origin}/runtime/webhooks/durabletask`;
  const rpcBaseUrl = `${origin}/durabletask/`;
  // The client rewrites link origins unless WEBSITE_HOSTNAME names the host (durable-protocol.md §4.1),
  // and axios would send loopback calls through a configured proxy (§5.8).
  process.env.WEBSITE_HOSTNAME = new URL(origin).host;
  process.env.NO_PROXY = ['127.0.0.1', 'localhost', process.env.NO_PROXY].filter(Boolean).join(',');
  const query = `taskHub=${hubName}&connection=Storage`;
  const clientData = {
    taskHubName: hubName,
    creationUrls: {
      createNewInstancePostUri: `${webhookBaseUrl}/orchestrators/{functionName}[/{instanceId}]?${query}`,
      createAndWaitOnNewInstancePostUri: `${webhookBaseUrl}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${query}`,
    },
    managementUrls: {
      id: 'INSTANCEID',
      statusQueryGetUri: `${webhookBaseUrl}/instances/INSTANCEID?${query}`,
      sendEventPostUri: `${webhookBaseUrl}/instances/INSTANCEID/raiseEvent/{eventName}?${query}`,
      terminatePostUri: `${webhookBaseUrl}/instances/INSTANCEID/terminate?reason={text}&${query}`,
      rewindPostUri: `${webhookBaseUrl}/instances/INSTANCEID/rewind?reason={text}&${query}`,
      purgeHistoryDeleteUri: `${webhookBaseUrl}/instances/INSTANCEID?${query}`,
      restartPostUri: `${webhookBaseUrl}/instances/INSTANCEID/restart?${query}`,
      suspendPostUri: `${webhookBaseUrl}/instances/INSTANCEID/suspend?reason={text}&${query}`,
      resumePostUri: `${webhookBaseUrl}/instances/INSTANCEID/resume?reason={text}&${query}`,
    },
    baseUrl: webhookBaseUrl,
    requiredQueryStringParameters: '',
    rpcBaseUrl,
  };
  const context = new InvocationContext({
    functionName: 'TestClient',
    options: {
      trigger: { name: 'req', type: 'httpTrigger' },
      extraInputs: [{ name: 'client', type: 'durableClient' }],
      extraOutputs: [],
    },
    logHandler: () => undefined,
  });
  context.extraInputs.set('client', clientData);
  return df.getClient(context);
}

/** Polls an instance's status (bounded) until it leaves Pending/Running/Suspended. */
export async function waitForFinish(
  client: df.DurableClient,
  instanceId: string,
  timeoutMs = 30_000,
): Promise<df.DurableOrchestrationStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await client.getStatus(instanceId, { showHistory: true, showHistoryOutput: true });
    const runtime = status.runtimeStatus as string;
    if (runtime !== 'Pending' && runtime !== 'Running' && runtime !== 'Suspended' && runtime !== 'ContinuedAsNew')
      return status;
    if (Date.now() > deadline)
      throw new Error(`Instance ${instanceId} did not finish within ${timeoutMs} ms (status ${runtime})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
