/**
 * Fault drill: SIGKILL patient-app's host during a stream of writes (docs/reliability.md).
 * patient-app runs under the devhost CLI as its own process group (the host, its Durable engine and
 * the app's worker); audit-app runs under the devhost in this process. Clients write patients, each
 * with an `Idempotency-Key`; at seeded-random moments the whole group is killed with SIGKILL and
 * started again with the same store, task hub, keys file and port. A client whose request died
 * with the process repeats it with the same key once the host answers again, as a real client
 * does; a 202 is followed through its operation link. Every other kill comes after a seeded time,
 * the others as a seeded n-th audit record reaches audit-app: inside a write, between an
 * activity's side effect and the engine recording its result.
 *
 * Then count and compare: every write ended in a 201 (or a 503 whose change was undone), each key
 * made exactly one patient and one orchestration, the audit register holds each write's
 * `attempted` and its outcome once, and the task hub has nothing left running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { type Devhost, startDevhost, startStore, type Store } from '@patient-records/devhost';
import { MongoClient } from 'mongodb';

import { useAuditProxy } from '../support/audit-proxy';
import { auditOutcomes, drillPatient, leaksInternals, seededRandom, settled, sleep, unfinishedInstances } from '../support/drills';
import { type Answer, auditAppDir, patientAppDir } from '../support/stack';
import { uniqueDatabaseName } from '../support/store';

jest.setTimeout(90_000);

const devhostCli = path.resolve(patientAppDir, '..', 'devhost', 'bin', 'devhost.js');
const rand = seededRandom('crash');
const kills = 4;
const clients = 4;
const masterKey = `crash-master-${randomBytes(12).toString('hex')}`;
const consumerKey = `crash-consumer-${randomBytes(12).toString('hex')}`;
const auditKey = `crash-audit-${randomBytes(12).toString('hex')}`;
const hubName = `Crash${Date.now().toString(36)}`;
// The CLI keeps the task hub in `devhost_<app folder>`.
const hubDatabase = 'devhost_patient-app';
const names = { patients: uniqueDatabaseName('crash_pa'), audit: uniqueDatabaseName('crash_au') };
const appSettings = {
  PATIENT_DATABASE_NAME: names.patients,
  AUDIT_API_KEY: auditKey,
  PAYLOAD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  IDEMPOTENCY_HMAC_KEY: randomBytes(32).toString('base64'),
  WRITE_WAIT_TIMEOUT_MS: '2000',
};

let dir = '';
let store: Store | undefined;
let client: MongoClient | undefined;
let audit: Devhost | undefined;
let host: { child: ChildProcess; url: string } | undefined;
/** Every host started, so that afterAll can kill whatever still runs, even after a failure mid-restart. */
const started: ChildProcess[] = [];
/** Set by afterAll: no host starts any more, and the clients stop (a failed run must not keep them writing). */
let closing = false;
const hostOutput: string[] = [];
// patient-app reaches audit-app through a forwarding proxy, which tells the drill when records pass.
const auditProxy = useAuditProxy(() => {
  if (!audit) throw new Error('audit-app is not started');
  return audit.url;
});

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'patient-crash-'));
  store = await startStore({ dataDir: path.join(dir, 'store'), log: () => undefined });
  client = await MongoClient.connect(store.uri);
  audit = await startDevhost({
    appDir: auditAppDir,
    port: 0,
    keysFile: path.join(dir, 'audit-keys.json'),
    hostKeys: { patientApp: auditKey },
    env: { MONGODB_CONNECTION_STRING: store.uri, AUDIT_DATABASE_NAME: names.audit },
    log: () => undefined,
  });
});

afterAll(async () => {
  closing = true;
  for (const child of started) await killGroup(child);
  await audit?.stop();
  await client?.close();
  await store?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts patient-app under the devhost CLI, in a process group of its own; resolves once it serves. */
function startPatientApp(port: number): Promise<{ child: ChildProcess; url: string }> {
  if (closing) return Promise.reject(new Error('the drill is over'));
  const child = spawn(
    process.execPath,
    [devhostCli, '--app', patientAppDir, '--port', String(port), '--key', masterKey, '--mongo-uri', store?.uri ?? '', '--hub', hubName],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // The keys file lives under PATIENT_RECORDS_LOCAL_DIR (keys/patient-app.json): the same one at every start.
      env: { ...process.env, PATIENT_RECORDS_LOCAL_DIR: dir, MONGODB_CONNECTION_STRING: store?.uri ?? '', AUDIT_API_URL: auditProxy.url(), ...appSettings },
    },
  );
  started.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`patient-app did not start:\n${hostOutput.slice(-30).join('\n')}`)), 30_000);
    const onLine = (line: string): void => {
      hostOutput.push(line);
      const url = /Functions app running at (http:\/\/\S+)/.exec(line)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ child, url });
      }
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`patient-app exited (${String(code ?? signal)}):\n${hostOutput.slice(-30).join('\n')}`));
    });
  });
}

/** kill -9 the host's whole process group (the host and its worker), and waits for the host to be gone. */
async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid, 'SIGKILL');
  await exited;
}

/**
 * Kills the host's group the moment the `count`-th audit record from now arrives, before it is
 * forwarded: audit-app stores it, but the activity that sent it dies before the engine records its
 * result. Resolves once the host is gone (killed after `withinMs` anyway, to stay bounded).
 */
async function killAtAuditRecord(child: ChildProcess, count: number, withinMs: number): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let left = count;
  auditProxy.setRule(() => {
    left -= 1;
    // Only a host still running: signalling a group that is gone would throw (ESRCH) inside the proxy.
    if (left === 0 && child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
    return 'forward';
  });
  const timer = setTimeout(() => void killGroup(child), withinMs);
  await exited;
  clearTimeout(timer);
  auditProxy.setRule(() => 'forward');
}

/**
 * fetch's "the connection failed" ("fetch failed") or "died while the body was read" ("terminated"):
 * TypeErrors, but of another realm than jest's, so known by name.
 */
const isConnectionFailure = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as Error).name === 'TypeError' && /fetch failed|terminated/i.test((error as Error).message);

async function request(method: string, pathAndQuery: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const init: RequestInit = { method, headers: { 'x-functions-key': consumerKey, ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const response = await fetch(`${host?.url ?? ''}${pathAndQuery}`, init);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: kept as text, and the drill reports it
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

interface Write {
  n: number;
  key: string;
  body: Record<string, string>;
  /** Requests that died with the host, repeated with the same key. */
  repeats: number;
  final?: Answer;
}

/** One client's write: POST, follow a 202; whenever the host dies under it, repeat with the same key once it answers again. */
async function write(item: Write): Promise<void> {
  const deadline = Date.now() + 75_000;
  while (Date.now() < deadline && !closing) {
    try {
      const first = await request('POST', '/api/patient', item.body, { 'idempotency-key': item.key });
      item.final = await settled((location) => request('GET', location), first, deadline - Date.now());
      return;
    } catch (error) {
      if (!isConnectionFailure(error)) throw error;
      item.repeats += 1;
      await sleep(200);
    }
  }
}

describe('drill: SIGKILL patient-app during a stream of writes', () => {
  it('loses and duplicates nothing: every write completes once, on record, with nothing left running', async () => {
    host = await startPatientApp(0);
    const port = Number(new URL(host.url).port);
    // The consumers' key, stored in the keys file: every later start must still accept it.
    const installed = await fetch(`${host.url}/admin/host/keys/consumer`, {
      method: 'PUT',
      headers: { 'x-functions-key': masterKey, 'content-type': 'application/json' },
      body: JSON.stringify({ value: consumerKey }),
    });
    expect(installed.ok).toBe(true);

    const writes: Write[] = [];
    const killedAt: number[] = [];
    let killing = true;
    const killer = (async () => {
      for (let k = 0; k < kills; k += 1) {
        if (k % 2 === 0) {
          await sleep(rand.between(500, 3_000));
          await killGroup(host.child);
        } else await killAtAuditRecord(host.child, rand.between(1, 12), 20_000);
        killedAt.push(writes.length);
        host = await startPatientApp(port);
      }
      killing = false;
    })();
    const stream = Array.from({ length: clients }, async (_, c) => {
      // Each client writes until the kills are over, then a few more; bounded either way.
      for (let i = 0, tail = 0; i < 40 && tail < 3 && !closing; i += 1) {
        if (!killing) tail += 1;
        const n = writes.length;
        const item: Write = { n, key: `drill-crash-${rand.seed}-${c}-${i}`, body: drillPatient('crash', n), repeats: 0 };
        writes.push(item);
        await write(item);
        await sleep(rand.between(0, 200));
      }
    });
    await Promise.all([killer, ...stream]);

    // Audit records sent again by an activity that a kill interrupted (audit-app answers the repeat from the first).
    const sent = auditProxy.seen.map((record) => String(record['idempotencyKey']));
    const resent = sent.length - new Set(sent).size;
    const statuses = new Map<number, number>();
    for (const item of writes) statuses.set(item.final?.status ?? 0, (statuses.get(item.final?.status ?? 0) ?? 0) + 1);
    console.info(
      `[crash] ${writes.length} writes by ${clients} clients, ${kills} kills (after writes ${killedAt.join(', ')}); ` +
        `final answers ${JSON.stringify(Object.fromEntries(statuses))}; writes repeated after a kill: ${writes.filter((w) => w.repeats > 0).length}; audit records re-sent: ${resent}`,
    );

    // Every write ended in a clear answer: created, or refused with a clear 503 after its undo.
    expect(writes.filter((w) => w.final?.status !== 201 && w.final?.status !== 503).map((w) => ({ n: w.n, status: w.final?.status, body: w.final?.body as unknown }))).toEqual([]);
    for (const item of writes) expect(leaksInternals(JSON.stringify(item.final?.body))).toBe(false);
    // The drill reached what it is for: requests died with the host, and activities ran again.
    expect(writes.filter((w) => w.repeats > 0).length).toBeGreaterThan(0);
    expect(resent).toBeGreaterThan(0);

    // Count and compare with the patient store.
    const db = client!.db(names.patients);
    const created = writes.filter((w) => w.final?.status === 201);
    const failed = writes.filter((w) => w.final?.status === 503);
    const live = await db.collection<{ _id: string; patient: Record<string, unknown> | null }>('patients').find({ deleted: false }).toArray();
    expect(live.map((p) => p._id).sort()).toEqual(created.map((w) => String(w.final?.body.id)).sort());
    expect(new Set(live.map((p) => p._id)).size).toBe(created.length);
    const versions = await db.collection<{ patientId: string; operationId: string; kind: string }>('patientVersions').find({}).toArray();
    for (const item of created) {
      const id = String(item.final?.body.id);
      expect(live.find((p) => p._id === id)?.patient).toEqual(item.body);
      expect(versions.filter((v) => v.patientId === id).map((v) => v.kind)).toEqual(['create']);
    }
    // One idempotency key and one orchestration per write, however often it was sent.
    expect(await db.collection('idempotencyKeys').countDocuments()).toBe(writes.length);
    const hub = client!.db(hubDatabase);
    expect(await hub.collection(`${hubName}_instances`).countDocuments()).toBe(writes.length);
    expect(await unfinishedInstances(hub, hubName)).toEqual([]);

    // And with the audit register: each write's attempt and outcome, once each.
    const auditDb = client!.db(names.audit);
    for (const item of created) {
      const operationId = item.final!.headers.get('x-operation-id')!;
      expect({ n: item.n, outcomes: await auditOutcomes(auditDb, operationId) }).toEqual({ n: item.n, outcomes: ['attempted', 'succeeded'] });
    }
    for (const item of failed) {
      const operationId = String(item.final?.body.error.details.operationId);
      const outcomes = await auditOutcomes(auditDb, operationId);
      expect({ n: item.n, first: outcomes[0], succeeded: outcomes.includes('succeeded'), twice: new Set(outcomes).size !== outcomes.length }).toEqual({ n: item.n, first: 'attempted', succeeded: false, twice: false });
      expect(versions.filter((v) => v.operationId === operationId && v.kind === 'create').length).toBe(versions.filter((v) => v.operationId === `${operationId}:undo`).length);
    }
    expect(await auditDb.collection('audits').countDocuments({ outcome: 'succeeded' })).toBe(created.length);
  });
});
