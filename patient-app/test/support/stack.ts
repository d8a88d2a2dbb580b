import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { type Devhost, type DevhostLogEntry, startDevhost, startStore, type Store } from '@patient-records/devhost';
import { type Db, MongoClient } from 'mongodb';

import type { SeenAnswer } from './openapi';
import { uniqueDatabaseName } from './store';

export const patientAppDir = path.resolve(__dirname, '..', '..');
export const auditAppDir = path.resolve(__dirname, '..', '..', '..', 'audit-app');

export interface StackOptions {
  /** Extra patient-app settings (e.g. WRITE_WAIT_TIMEOUT_MS). */
  patientEnv?: Record<string, string>;
  /** Where patient-app sends audit records instead of audit-app itself (a proxy in front of it). */
  auditApiUrl?: () => string;
  /** The connection string patient-app's own client uses, given the store's (e.g. a proxy in front of it); the Durable engine keeps the store's. */
  patientMongoUri?: (storeUri: string) => string;
  /** The connection string patient-app's Durable engine (its task hub) uses, given the store's (e.g. a proxy in front of it). */
  taskHubMongoUri?: (storeUri: string) => string;
}

/** The local stack of one test file: one embedded store, audit-app and patient-app under two devhosts. */
export interface Stack {
  store(): Store;
  client(): MongoClient;
  audit(): Devhost;
  patients(): Devhost;
  /** The key API consumers use (a named host key of patient-app). */
  readonly patientKey: string;
  readonly auditKey: string;
  /** patient-app's database, and its Durable task hub's database. */
  patientDb(): Db;
  taskHubDb(): Db;
  auditDb(): Db;
  /** Every log line of both hosts (host, worker console, app logs). */
  readonly logs: DevhostLogEntry[];
  /** Stops audit-app (simulating an outage); `startAudit` brings it back on the same port. */
  stopAudit(): Promise<void>;
  startAudit(): Promise<void>;
  /**
   * Stops patient-app and starts it again on the same port, task hub and keys file, with `env`
   * changed (an empty value unsets a setting), as changing an app setting restarts it in Azure.
   * Writes in flight stay in the task hub and go on under the new process. `whileStopped` runs
   * when no patient-app runs.
   */
  restartPatients(env: Record<string, string>, whileStopped?: () => void): Promise<void>;
}

/**
 * Starts the stack once for a test file (beforeAll) on free loopback ports with keys of its own,
 * and stops everything in afterAll. Settings are what Azure would set, with local values.
 */
export function useStack(options: StackOptions = {}): Stack {
  const patientKey = `patient-e2e-${randomBytes(8).toString('hex')}`;
  const auditKey = `audit-e2e-${randomBytes(8).toString('hex')}`;
  const names = { patients: uniqueDatabaseName('pa'), hub: uniqueDatabaseName('pahub'), audit: uniqueDatabaseName('au') };
  const logs: DevhostLogEntry[] = [];
  let store: Store | undefined;
  let client: MongoClient | undefined;
  let audit: Devhost | undefined;
  let patients: Devhost | undefined;
  let auditPort = 0;
  let dir: string | undefined;
  let patientEnv: Record<string, string> = {};

  const startAudit = async (): Promise<void> => {
    audit = await startDevhost({
      appDir: auditAppDir,
      port: auditPort,
      keysFile: path.join(dir ?? '', 'audit-keys.json'),
      hostKeys: { patientApp: auditKey },
      env: { MONGODB_CONNECTION_STRING: store?.uri ?? '', AUDIT_DATABASE_NAME: names.audit },
      log: (entry) => logs.push(entry),
    });
    auditPort = audit.port;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'patient-e2e-'));
    store = await startStore({ dataDir: path.join(dir, 'store'), log: () => undefined });
    client = await MongoClient.connect(store.uri);
    await startAudit();
    patientEnv = {
      MONGODB_CONNECTION_STRING: options.patientMongoUri?.(store.uri) ?? store.uri,
      PATIENT_DATABASE_NAME: names.patients,
      AUDIT_API_URL: options.auditApiUrl?.() ?? audit?.url ?? '',
      AUDIT_API_KEY: auditKey,
      PAYLOAD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      IDEMPOTENCY_HMAC_KEY: randomBytes(32).toString('base64'),
      ...options.patientEnv,
    };
    await startPatients(0);
  });

  const startPatients = async (port: number): Promise<void> => {
    patients = await startDevhost({
      appDir: patientAppDir,
      port,
      mongoUri: options.taskHubMongoUri?.(store?.uri ?? '') ?? store?.uri ?? '',
      databaseName: names.hub,
      keysFile: path.join(dir ?? '', 'patient-keys.json'),
      hostKeys: { consumer: patientKey },
      env: patientEnv,
      log: (entry) => logs.push(entry),
    });
  };

  afterAll(async () => {
    await patients?.stop();
    await audit?.stop();
    await client?.close();
    await store?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started`);
    return value;
  };
  return {
    store: () => started(store, 'the store'),
    client: () => started(client, 'the store client'),
    audit: () => started(audit, 'audit-app'),
    patients: () => started(patients, 'patient-app'),
    patientKey,
    auditKey,
    patientDb: () => started(client, 'the store client').db(names.patients),
    taskHubDb: () => started(client, 'the store client').db(names.hub),
    auditDb: () => started(client, 'the store client').db(names.audit),
    logs,
    stopAudit: async () => {
      await audit?.stop();
      audit = undefined;
    },
    startAudit,
    restartPatients: async (env, whileStopped) => {
      const port = started(patients, 'patient-app').port;
      await patients?.stop();
      patients = undefined;
      whileStopped?.();
      patientEnv = Object.fromEntries(Object.entries({ ...patientEnv, ...env }).filter(([, value]) => value !== ''));
      await startPatients(port);
    },
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are asserted field by field
  body: any;
}

/** Every (method, route template, status) the suite saw, for the OpenAPI check. */
export const observed = new Set<string>();
/** Every answer the suite got, with its route template, for checking bodies against the OpenAPI document. */
export const answers: SeenAnswer[] = [];

function template(pathname: string): string {
  return pathname
    .replace(/^\/api/, '')
    .replace(/\/patient\/search$/, '/patient/search')
    .replace(/\/operations\/[^/]+$/, '/operations/{operationId}')
    .replace(/\/tests\/[^/]+$/, '/tests/{testId}')
    .replace(/\/patient\/(?!search$)[^/]+/, '/patient/{patientId}');
}

/** A request to patient-app with the consumer's key; records what it observed. */
export async function call(
  stack: Stack,
  method: string,
  pathAndQuery: string,
  options: { body?: unknown; headers?: Record<string, string>; key?: string | null } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== null) headers['x-functions-key'] = options.key ?? stack.patientKey;
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  const init: RequestInit = { method, headers };
  if (options.body !== undefined) init.body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const response = await fetch(`${stack.patients().url}${pathAndQuery}`, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  observed.add(`${method.toLowerCase()} ${template(new URL(pathAndQuery, 'http://x').pathname)} ${response.status}`);
  answers.push({ method, route: template(new URL(pathAndQuery, 'http://x').pathname), status: response.status, headers: response.headers, body });
  return { status: response.status, headers: response.headers, body };
}
