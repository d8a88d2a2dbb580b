import { mkdtempSync, rmSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

import { type LocalCertificate, localCertificate } from './certificate';
import { closeServer, listenOnLoopback, readBody, sendJson } from './http-util';

/** One Application Insights envelope as the exporter sends it (Breeze schema). */
export interface TelemetryEnvelope {
  name: string;
  time: string;
  iKey?: string;
  sampleRate?: number;
  tags?: Record<string, string>;
  data?: { baseType?: string; baseData?: Record<string, unknown> & { properties?: Record<string, string>; measurements?: Record<string, number> } };
}

export interface FakeIngestionOptions {
  certificate?: LocalCertificate;
}

export interface FakeIngestion {
  /** `https://127.0.0.1:<port>/` */
  readonly url: string;
  /** A connection string whose ingestion (and live) endpoint is this server. */
  readonly connectionString: string;
  /**
   * Everything an app process needs so that its telemetry goes here and nowhere else: the
   * connection string, trust for the local certificate, no sampling, no statsbeat, no cloud
   * metadata probing, no settings polling, and a private offline-storage folder.
   */
  env(): Record<string, string>;
  /** Every envelope received so far, in arrival order. */
  envelopes(): TelemetryEnvelope[];
  /** Every raw request body received so far (decompressed), for "this value never appears" checks. */
  rawBodies(): string[];
  /** Resolves with the envelopes once `done(all)` holds; rejects after `timeoutMs` (default 20 s). */
  waitFor(done: (all: TelemetryEnvelope[]) => boolean, timeoutMs?: number): Promise<TelemetryEnvelope[]>;
  clear(): void;
  stop(): Promise<void>;
}

/** The instrumentation key the fake accepts; any GUID works, this one is obviously local. */
export const LOCAL_INSTRUMENTATION_KEY = '00000000-0000-0000-0000-000000000000';

/**
 * A local HTTPS Application Insights ingestion endpoint that records envelopes. It answers
 * `POST /v2/track` and `POST /v2.1/track` with the Breeze response (`itemsReceived`,
 * `itemsAccepted`, `errors`), accepting JSON arrays or newline-delimited JSON, plain or gzip.
 */
export async function startFakeIngestion(options: FakeIngestionOptions = {}): Promise<FakeIngestion> {
  const certificate = options.certificate ?? (await localCertificate());
  const received: TelemetryEnvelope[] = [];
  const bodies: string[] = [];
  const waiters = new Set<() => void>();
  const storage = mkdtempSync(path.join(os.tmpdir(), 'ai-offline-'));

  const server = https.createServer({ cert: certificate.cert, key: certificate.key }, (request, response) => {
    void handle(request, response);
  });
  const port = await listenOnLoopback(server);
  const url = `https://127.0.0.1:${port}/`;
  const connectionString = `InstrumentationKey=${LOCAL_INSTRUMENTATION_KEY};IngestionEndpoint=${url};LiveEndpoint=${url}`;

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const pathname = new URL(request.url ?? '/', url).pathname;
    let raw: Buffer;
    try {
      raw = await readBody(request);
    } catch {
      sendJson(response, 413, { itemsReceived: 0, itemsAccepted: 0, errors: [] });
      return;
    }
    if (request.method !== 'POST' || !/^\/v2(\.1)?\/track\/?$/.test(pathname)) {
      sendJson(response, 404, { error: `not an ingestion path: ${request.method ?? ''} ${pathname}` });
      return;
    }
    const gzipped = request.headers['content-encoding'] === 'gzip' || (raw[0] === 0x1f && raw[1] === 0x8b);
    const text = (gzipped ? gunzipSync(raw) : raw).toString('utf8');
    bodies.push(text);
    const items = parseEnvelopes(text);
    received.push(...items);
    sendJson(response, 200, { itemsReceived: items.length, itemsAccepted: items.length, appId: null, errors: [] });
    for (const wake of [...waiters]) wake();
  }

  return {
    url,
    connectionString,
    env: () => ({
      APPLICATIONINSIGHTS_CONNECTION_STRING: connectionString,
      NODE_EXTRA_CA_CERTS: certificate.certPath,
      OTEL_TRACES_SAMPLER: 'always_on',
      // The one switch that really stops statsbeat (the *_STATSBEAT_DISABLED variant keeps "essential" statsbeat).
      APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
      APPLICATIONINSIGHTS_SDKSTATS_DISABLED: 'true',
      // Detected as Azure Functions, the SDK skips the VM metadata (IMDS) probe.
      WEBSITE_SITE_NAME: 'local-func',
      FUNCTIONS_EXTENSION_VERSION: '~4',
      // The exporter polls a settings service on its own; send that to a dead loopback proxy.
      HTTPS_PROXY: 'http://127.0.0.1:9',
      HTTP_PROXY: 'http://127.0.0.1:9',
      NO_PROXY: '127.0.0.1,localhost',
      TELEMETRY_OFFLINE_STORAGE_DIRECTORY: storage,
    }),
    envelopes: () => [...received],
    rawBodies: () => [...bodies],
    waitFor: (done, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          if (!done([...received])) return false;
          finish();
          resolve([...received]);
          return true;
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`Telemetry not received within ${timeoutMs} ms; got ${received.length} envelopes: ${summarise(received)}`));
        }, timeoutMs);
        const wake = (): void => {
          check();
        };
        const finish = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        waiters.add(wake);
        check();
      }),
    clear: () => {
      received.length = 0;
      bodies.length = 0;
    },
    stop: async () => {
      await closeServer(server);
      rmSync(storage, { recursive: true, force: true });
    },
  };
}

function parseEnvelopes(text: string): TelemetryEnvelope[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as TelemetryEnvelope[];
  return trimmed
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as TelemetryEnvelope);
}

function summarise(envelopes: TelemetryEnvelope[]): string {
  return envelopes.map((envelope) => `${envelope.data?.baseType ?? envelope.name}:${JSON.stringify(envelope.data?.baseData?.name ?? '')}`).join(', ');
}
