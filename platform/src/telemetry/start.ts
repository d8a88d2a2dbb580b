import { type Context, context as contextApi } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type * as Undici from '@opentelemetry/instrumentation-undici';
import type * as Resources from '@opentelemetry/resources';
import type * as ApplicationInsights from 'applicationinsights';
import type { AzureMonitorOpenTelemetryOptions } from 'applicationinsights';

import { redactUrl } from './redaction';
import { telemetryState } from './state';

/** Setting names this module reads. */
export const TELEMETRY_SETTINGS = {
  connectionString: 'APPLICATIONINSIGHTS_CONNECTION_STRING',
  /** Where failed exports wait to be sent again; the SDK's default is a folder under the OS temp dir. */
  offlineStorageDirectory: 'TELEMETRY_OFFLINE_STORAGE_DIRECTORY',
} as const;

export interface StartTelemetryOptions {
  /** The cloud role name (`ai.cloud.role`, `cloud_RoleName` in KQL): `patient-app` or `audit-app`. */
  roleName: string;
  /** Defaults to `APPLICATIONINSIGHTS_CONNECTION_STRING`; with neither, telemetry is off. */
  connectionString?: string;
  env?: NodeJS.ProcessEnv;
}

export interface Telemetry {
  /** False when no connection string is configured: nothing is loaded, sent or printed. */
  readonly enabled: boolean;
  readonly roleName: string;
  /** Sends everything queued now (spans, logs, custom events and metrics). */
  flush(): Promise<void>;
  /** Flushes and stops; call on app termination. */
  shutdown(): Promise<void>;
}

let current: Telemetry | undefined;

/**
 * Starts Application Insights (applicationinsights 3.x, the Azure Monitor OpenTelemetry distro)
 * for this process. Call it first in the app's entry file, before anything loads `mongodb` or
 * `node:http`, so that their instrumentation can attach. Idempotent: later calls return the first
 * handle.
 *
 * What it configures, and why:
 * - the cloud role name from `roleName`;
 * - every trace kept (`samplingRatio: 1`, `tracesPerSecond: 0`): the distro's default rate limit of
 *   5 traces/s silently drops requests, and write volumes here are low enough to keep them all;
 * - HTTP (node:http, used by the Durable client), undici/fetch (the audit client), MongoDB and
 *   Azure SDK calls as dependencies; console/bunyan/winston log collection off (logs go through
 *   the Functions host, redacted);
 * - a span processor that strips query strings and credentials from every URL attribute, because
 *   function keys travel as `?code=` and the Durable management links carry the system key;
 * - live metrics off.
 *
 * Without a connection string it returns a disabled handle, loads no SDK and sends nothing; the
 * tracing helpers still pass trace context on (spans are non-recording).
 */
export function startTelemetry(options: StartTelemetryOptions): Telemetry {
  if (current) return current;
  const env = options.env ?? process.env;
  const connectionString = (options.connectionString ?? env[TELEMETRY_SETTINGS.connectionString] ?? '').trim();
  if (connectionString === '') {
    // No exporter, but trace context still flows: the caller's traceparent reaches the orchestration
    // input and audit-app (which records the operation id) even where telemetry is not configured.
    contextApi.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    current = { enabled: false, roleName: options.roleName, flush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
    return current;
  }

  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only when telemetry is on */
  const appInsights = require('applicationinsights') as typeof ApplicationInsights;
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof Resources;
  const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici') as typeof Undici;
  /* eslint-enable @typescript-eslint/no-require-imports */

  const storageDirectory = env[TELEMETRY_SETTINGS.offlineStorageDirectory];
  appInsights.useAzureMonitor({
    azureMonitorExporterOptions: { connectionString, ...(storageDirectory ? { storageDirectory } : {}) },
    resource: resourceFromAttributes({ 'service.name': options.roleName }),
    samplingRatio: 1,
    tracesPerSecond: 0,
    enableLiveMetrics: false,
    instrumentationOptions: {
      // Incoming requests are traced by traceHttpRequest from the invocation (the Functions host owns
      // the HTTP listener); a Node http server in the worker is plumbing, not a request of the app.
      http: { enabled: true, ignoreIncomingRequestHook: () => true } as { enabled: boolean },
      mongoDb: { enabled: true },
      azureSdk: { enabled: true },
      console: { enabled: false },
      bunyan: { enabled: false },
      winston: { enabled: false },
    },
    spanProcessors: [new UrlRedactingSpanProcessor()],
  });
  // fetch() is undici, which applicationinsights 3.16 does not instrument: without this the call
  // to audit-app would carry no traceparent and audit-app would start a new operation.
  new UndiciInstrumentation().enable();
  telemetryState.instrumented = true;

  current = {
    enabled: true,
    roleName: options.roleName,
    flush: () => appInsights.flushAzureMonitor(),
    shutdown: () => appInsights.shutdownAzureMonitor(),
  };
  return current;
}

type SpanProcessor = NonNullable<AzureMonitorOpenTelemetryOptions['spanProcessors']>[number];
type Span = Parameters<SpanProcessor['onStart']>[0];
type ReadableSpan = Parameters<SpanProcessor['onEnd']>[0];

const URL_ATTRIBUTES = ['url.full', 'http.url', 'url.query', 'http.target', 'db.connection_string'];

/** Removes query strings and credentials from URL attributes before export. */
class UrlRedactingSpanProcessor implements SpanProcessor {
  onStart(_span: Span, _parentContext: Context): void {
    // Attributes are final only when the span ends.
  }

  onEnd(span: ReadableSpan): void {
    // ReadableSpan is read-only by type, but processors run before the batch exporter reads it.
    const attributes = span.attributes as Record<string, unknown>;
    for (const name of URL_ATTRIBUTES) {
      const value = attributes[name];
      if (typeof value !== 'string') continue;
      if (name === 'url.query' || name === 'db.connection_string') Reflect.deleteProperty(attributes, name);
      else if (name === 'http.target') attributes[name] = value.split('?')[0];
      else attributes[name] = redactUrl(value);
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
