#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { consoleLog, type Devhost, generateKey, startDevhost } from '../host';
import { localDir, repositoryRoot } from '../paths';
import { startStore, type Store, StoreUnavailableError } from '../store';
import { stopOnSignal } from './signals';

/** Secrets the local stack generates once and keeps in `.local/stack-secrets.json` (git-ignored). */
interface StackSecrets {
  patientApiKey: string;
  auditApiKey: string;
  supportApiKey: string;
  payloadEncryptionKey: string;
  idempotencyHmacKey: string;
  continuationTokenKey: string;
}

function loadSecrets(): StackSecrets {
  const file = localDir('stack-secrets.json');
  const stored = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<StackSecrets>) : {};
  const secrets: StackSecrets = {
    patientApiKey: stored.patientApiKey ?? generateKey(),
    auditApiKey: stored.auditApiKey ?? generateKey(),
    supportApiKey: stored.supportApiKey ?? generateKey(),
    payloadEncryptionKey: stored.payloadEncryptionKey ?? randomBytes(32).toString('base64'),
    idempotencyHmacKey: stored.idempotencyHmacKey ?? randomBytes(32).toString('base64'),
    continuationTokenKey: stored.continuationTokenKey ?? randomBytes(32).toString('base64'),
  };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  // Keys given in the environment win, and are not written to disk.
  return {
    ...secrets,
    patientApiKey: process.env.LOCAL_PATIENT_API_KEY ?? secrets.patientApiKey,
    auditApiKey: process.env.LOCAL_AUDIT_API_KEY ?? secrets.auditApiKey,
    supportApiKey: process.env.LOCAL_SUPPORT_API_KEY ?? secrets.supportApiKey,
  };
}

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new Error(`${name} must be a port number, got "${raw}"`);
  return value;
}

/** An app is there when its package has a build output matching `main`'s fixed part. */
function appPresent(appDir: string): boolean {
  const manifest = path.join(appDir, 'package.json');
  if (!existsSync(manifest)) return false;
  const main = (JSON.parse(readFileSync(manifest, 'utf8')) as { main?: unknown }).main;
  if (typeof main !== 'string') return false;
  const fixed = main.split('/').filter((segment) => !/[*?{}[\]]/.test(segment));
  return existsSync(path.join(appDir, fixed[0] ?? ''));
}

const isSupportRoute = (route: string): boolean => /(^|\/)support(\/|$)/i.test(route);

/**
 * Gives the API consumers' key and the support staff's key to the functions each may call, as
 * function keys: `apim` on every function-level function outside `/support`, `support` on those
 * under it, so neither key opens the other's functions.
 */
async function setCallerKeys(host: Devhost, consumerKey: string, supportKey: string | undefined): Promise<void> {
  for (const fn of host.functions().http) {
    if (fn.authLevel !== 'function') continue;
    const support = isSupportRoute(fn.route);
    if (support && !supportKey) continue;
    const name = support ? 'support' : 'apim';
    const response = await fetch(`${host.url}/admin/functions/${encodeURIComponent(fn.name)}/keys/${name}`, {
      method: 'PUT',
      headers: { 'x-functions-key': host.masterKey, 'content-type': 'application/json' },
      body: JSON.stringify({ name, value: support ? supportKey : consumerKey }),
    });
    if (!response.ok)
      throw new Error(`Could not set the ${name} key of ${fn.name}: ${response.status} ${await response.text()}`);
  }
}

/**
 * `npm start`: the embedded store (or MONGODB_URI), audit-app on 127.0.0.1:${AUDIT_APP_PORT:-7072}
 * and patient-app on 127.0.0.1:${PATIENT_APP_PORT:-7071}, each under the devhost with its settings;
 * prints URLs, keys and working curls. Ctrl-C stops everything.
 */
async function main(): Promise<void> {
  const root = repositoryRoot();
  const secrets = loadSecrets();
  const hosts: Devhost[] = [];
  let store: Store | undefined;
  const stopAll = async (): Promise<void> => {
    for (const host of hosts.reverse()) await host.stop().catch((error: unknown) => console.error(error));
    await store?.stop();
  };
  stopOnSignal(stopAll);

  try {
    store = await startStore();
    const mongoUri = store.uri;
    const auditDir = path.join(root, 'audit-app');
    const patientDir = path.join(root, 'patient-app');
    let audit: Devhost | undefined;
    let patient: Devhost | undefined;

    if (appPresent(auditDir)) {
      audit = await startDevhost({
        appDir: auditDir,
        port: port('AUDIT_APP_PORT', 7072),
        mongoUri,
        env: { MONGODB_CONNECTION_STRING: mongoUri, CONTINUATION_TOKEN_KEY: secrets.continuationTokenKey },
        log: consoleLog('[audit-app]   '),
      });
      hosts.push(audit);
      await setCallerKeys(audit, secrets.auditApiKey, undefined);
    }
    if (appPresent(patientDir)) {
      if (!audit) throw new Error('patient-app needs audit-app, which is not built (run npm run build)');
      patient = await startDevhost({
        appDir: patientDir,
        port: port('PATIENT_APP_PORT', 7071),
        mongoUri,
        env: {
          MONGODB_CONNECTION_STRING: mongoUri,
          AUDIT_API_URL: audit.url,
          AUDIT_API_KEY: secrets.auditApiKey,
          PAYLOAD_ENCRYPTION_KEY: secrets.payloadEncryptionKey,
          IDEMPOTENCY_HMAC_KEY: secrets.idempotencyHmacKey,
          // The support functions accept only this key (docs/decisions.md, "The support API's own key").
          SUPPORT_API_KEY: secrets.supportApiKey,
        },
        log: consoleLog('[patient-app] '),
      });
      hosts.push(patient);
      await setCallerKeys(patient, secrets.patientApiKey, secrets.supportApiKey);
    }

    const lines = [
      '',
      'Local stack running. Ctrl-C stops everything.',
      `  store:        ${store.uri} (${store.kind === 'ferretdb' ? `FerretDB, data in ${store.dataDir ?? ''}` : 'MONGODB_URI'})`,
      audit
        ? `  audit-app:    ${audit.url}   key (x-functions-key): ${secrets.auditApiKey}`
        : '  audit-app:    not built (run npm run build)',
      patient
        ? `  patient-app:  ${patient.url}   key (x-functions-key): ${secrets.patientApiKey}`
        : '  patient-app:  not built (run npm run build)',
      ...(patient ? [`  support key:  ${secrets.supportApiKey}   (patient-app /api/support/...)`] : []),
      ...(patient
        ? [`  master keys:  patient-app ${patient.masterKey}, audit-app ${audit?.masterKey ?? ''}`]
        : audit
          ? [`  master key:   audit-app ${audit.masterKey}`]
          : []),
      '',
      'Try:',
      ...(patient ? [`  curl ${patient.url}/api/health`] : []),
      ...(patient
        ? [
            `  curl -i -H "x-functions-key: ${secrets.patientApiKey}" -H 'content-type: application/json' -d '{"firstName":"Ada","lastName":"Lovelace","gender":"female","dateOfBirth":"1815-12-10","postCode":"2000"}' ${patient.url}/api/patient`,
            `  curl -i -H "x-functions-key: ${secrets.patientApiKey}" -H 'content-type: application/json' -d '{}' ${patient.url}/api/patient/search`,
          ]
        : []),
      ...(audit ? [`  curl -H "x-functions-key: ${secrets.auditApiKey}" '${audit.url}/api/auditrecord'`] : []),
      '',
    ];
    console.log(lines.join('\n'));
  } catch (error) {
    console.error(error instanceof StoreUnavailableError ? error.message : error);
    await stopAll();
    process.exit(1);
  }
}

void main();
