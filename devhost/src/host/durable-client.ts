import type { DurableClientBindingOptions } from '../durable/contract';

/** The query every webhook link carries, as the extension writes it (durable-protocol.md §4.1). */
export function requiredQueryString(hubName: string, systemKey: string): string {
  return `taskHub=${encodeURIComponent(hubName)}&connection=Storage&code=${encodeURIComponent(systemKey)}`;
}

/**
 * The value of a `durableClient` input binding, as the Durable extension's
 * `BindingHelper.DurableOrchestrationClientToString` writes it (durable-protocol.md §4.1). The JS
 * `DurableClient` then calls the management API at `rpcBaseUrl` for everything it does, and builds
 * the links it hands out from `managementUrls`.
 */
export function durableClientBindingValue(options: DurableClientBindingOptions): Record<string, unknown> {
  const base = options.webhookBaseUrl.replace(/\/+$/, '');
  const query = requiredQueryString(options.hubName, options.systemKey);
  const instance = `${base}/instances/INSTANCEID`;
  return {
    taskHubName: options.hubName,
    creationUrls: {
      createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?code=${encodeURIComponent(options.systemKey)}`,
      createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=${encodeURIComponent(options.systemKey)}`,
    },
    managementUrls: {
      id: 'INSTANCEID',
      statusQueryGetUri: `${instance}?${query}`,
      sendEventPostUri: `${instance}/raiseEvent/{eventName}?${query}`,
      terminatePostUri: `${instance}/terminate?reason={text}&${query}`,
      rewindPostUri: `${instance}/rewind?reason={text}&${query}`,
      purgeHistoryDeleteUri: `${instance}?${query}`,
      restartPostUri: `${instance}/restart?${query}`,
      suspendPostUri: `${instance}/suspend?reason={text}&${query}`,
      resumePostUri: `${instance}/resume?reason={text}&${query}`,
    },
    baseUrl: base,
    requiredQueryStringParameters: `code=${encodeURIComponent(options.systemKey)}`,
    rpcBaseUrl: options.rpcBaseUrl.endsWith('/') ? options.rpcBaseUrl : `${options.rpcBaseUrl}/`,
  };
}
