/**
 * The write benchmark (`npm run bench`, docs/performance.md): on one store, the orchestrated
 * `POST /api/patient` end to end against a direct synchronous write of the same data (POST
 * audit-app's /api/auditrecord, then insertOne into MongoDB: the older system's design), per
 * concurrency level after a warm-up. Every consumer of the store reaches it through its own
 * counting proxy, so each level also reports the store commands per write, by store; the task
 * hub's records give the orchestration latency inside the devhost.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { repositoryRoot, startDevhost, startStore, type Store } from '@patient-records/devhost';
import { ORCHESTRATION_NAMES } from '@patient-records/orchestrations';
import { MongoClient } from 'mongodb';

import { type CountingProxy, startCountingProxy } from './counting-proxy';
import { type OrchestrationLatency, readOrchestrationTimings, summarizeTimings } from './orchestration-latency';
import { latencySummary, round1, round2 } from './stats';
import { countsBetween } from './wire';

export interface BenchSettings {
  /** Writes in flight, one level after another. */
  levels: number[];
  /** Timed writes per path and level (at least twice the level's concurrency). */
  requests: number;
  /** Untimed writes per path before the first level. */
  warmUp: number;
}

/** Store commands of one path at one level, per store. */
export interface StoreOperations {
  /** Commands over the level's timed writes, connection commands left out. */
  total: number;
  perWrite: number;
  /** Commands per write, by command name. */
  byCommand: Record<string, number>;
  /** Handshake, monitoring and session commands seen meanwhile (not in `total`). */
  connectionCommands: number;
}

export type StoreName = 'patientStore' | 'auditStore' | 'taskHub';

export interface PathResult {
  writes: number;
  writesPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  operations: Record<StoreName, StoreOperations>;
}

export interface LevelResult {
  concurrency: number;
  orchestrated: PathResult & {
    /** Writes not finished within the app's wait, followed through their operation link. */
    answered202: number;
    /** Instance created → completed, as the engine recorded it. */
    orchestration: OrchestrationLatency;
  };
  direct: PathResult;
  /** direct writes/s ÷ orchestrated writes/s. */
  throughputRatio: number;
  /** orchestrated p50 ÷ direct p50. */
  p50Ratio: number;
}

export interface BenchResults {
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string; loadAverage: number[] };
  date: string;
  /** The checked-out commit the run measured (with `+changes` when the tree had edits), for before/after comparisons. */
  commit: string;
  store: string;
  counting: string;
  settings: BenchSettings;
  levels: LevelResult[];
}

/** The store, a counting proxy per store role, and both apps under the devhost. */
export interface BenchStack {
  patientAppUrl: string;
  auditAppUrl: string;
  patientKey: string;
  auditKey: string;
  proxies: Record<StoreName, CountingProxy>;
  /** The bench's own client for the direct path's insert, through the patient store's proxy. */
  directClient: MongoClient;
  /** Reads the task hub after the levels, outside the counted traffic. */
  readerClient: MongoClient;
  hubDatabase: string;
  directDatabase: string;
  hubName: string;
  storeKind: Store['kind'];
  stop(): Promise<void>;
}

const quiet = (): undefined => undefined;

export async function startBenchStack(): Promise<BenchStack> {
  const root = repositoryRoot();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  // Names of this run's own: with MONGODB_URI the server may be shared and outlive the run.
  const run = randomBytes(4).toString('hex');
  const databases = {
    hub: `bench_${run}_hub`,
    patients: `bench_${run}_patients`,
    audit: `bench_${run}_audit`,
    direct: `bench_${run}_direct`,
  };
  const stops: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  const stop = async (): Promise<void> => {
    for (const step of stops.splice(0).reverse()) await step().catch(quiet);
  };
  try {
    const store = await startStore({ dataDir: path.join(dir, 'store'), log: quiet });
    stops.push(() => store.stop());
    const readerClient = await MongoClient.connect(store.uri);
    stops.push(() => readerClient.close());
    stops.push(() => Promise.all(Object.values(databases).map((name) => readerClient.db(name).dropDatabase())));
    const proxies = {} as Record<StoreName, CountingProxy>;
    for (const name of ['patientStore', 'auditStore', 'taskHub'] as const) {
      const proxy = await startCountingProxy(store.uri);
      stops.push(() => proxy.stop());
      proxies[name] = proxy;
    }
    const patientKey = randomBytes(16).toString('hex');
    const auditKey = randomBytes(16).toString('hex');
    const audit = await startDevhost({
      appDir: path.join(root, 'audit-app'),
      port: 0,
      keysFile: path.join(dir, 'audit-keys.json'),
      hostKeys: { patientApp: auditKey },
      env: { MONGODB_CONNECTION_STRING: proxies.auditStore.uri, AUDIT_DATABASE_NAME: databases.audit },
      log: quiet,
    });
    stops.push(() => audit.stop());
    const patients = await startDevhost({
      appDir: path.join(root, 'patient-app'),
      port: 0,
      mongoUri: proxies.taskHub.uri,
      databaseName: databases.hub,
      keysFile: path.join(dir, 'patient-keys.json'),
      hostKeys: { consumer: patientKey },
      env: {
        MONGODB_CONNECTION_STRING: proxies.patientStore.uri,
        PATIENT_DATABASE_NAME: databases.patients,
        AUDIT_API_URL: audit.url,
        AUDIT_API_KEY: auditKey,
        PAYLOAD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        IDEMPOTENCY_HMAC_KEY: randomBytes(32).toString('base64'),
      },
      log: quiet,
    });
    stops.push(() => patients.stop());
    const directClient = await MongoClient.connect(proxies.patientStore.uri);
    stops.push(() => directClient.close());
    return {
      patientAppUrl: patients.url,
      auditAppUrl: audit.url,
      patientKey,
      auditKey,
      proxies,
      directClient,
      readerClient,
      hubDatabase: databases.hub,
      directDatabase: databases.direct,
      hubName: patients.hubName,
      storeKind: store.kind,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface PatientFields {
  firstName: string;
  lastName: string;
  gender: string;
  dateOfBirth: string;
  postCode: string;
}

const patient = (): PatientFields => ({
  firstName: 'Ada',
  lastName: `Bench${randomBytes(3).toString('hex')}`,
  gender: 'female',
  dateOfBirth: '1815-12-10',
  postCode: '2000',
});

/** Runs `count` calls of `write` with `concurrency` in flight; every call must succeed. */
async function measure(
  write: () => Promise<void>,
  concurrency: number,
  count: number,
): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      const t0 = performance.now();
      await write();
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { seconds: (performance.now() - started) / 1000, latencies };
}

type Snapshot = Record<StoreName, Record<string, number>>;

function snapshot(stack: BenchStack): Snapshot {
  return {
    patientStore: stack.proxies.patientStore.counts(),
    auditStore: stack.proxies.auditStore.counts(),
    taskHub: stack.proxies.taskHub.counts(),
  };
}

/**
 * Waits until no store command has been sent for 300 ms (at most 5 s), so that work a path
 * finishes after its last answer (an engine's last bookkeeping) is counted for that path.
 */
async function settle(stack: BenchStack): Promise<Snapshot> {
  let last = JSON.stringify(snapshot(stack));
  let quietSince = Date.now();
  const deadline = Date.now() + 5_000;
  while (Date.now() - quietSince < 300 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = JSON.stringify(snapshot(stack));
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    }
  }
  return snapshot(stack);
}

function operationsPerWrite(before: Snapshot, after: Snapshot, writes: number): Record<StoreName, StoreOperations> {
  const result = {} as Record<StoreName, StoreOperations>;
  for (const store of ['patientStore', 'auditStore', 'taskHub'] as const) {
    const { operations, connection } = countsBetween(before[store], after[store]);
    const total = Object.values(operations).reduce((sum, n) => sum + n, 0);
    const byCommand = Object.fromEntries(
      Object.entries(operations)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, count]) => [name, round2(count / writes)]),
    );
    const connectionCommands = Object.values(connection).reduce((sum, n) => sum + n, 0);
    result[store] = { total, perWrite: round2(total / writes), byCommand, connectionCommands };
  }
  return result;
}

/** The two write paths against a running stack. */
function writers(stack: BenchStack): {
  orchestrated: () => Promise<void>;
  direct: () => Promise<void>;
  late: () => number;
} {
  let late = 0;
  const direct = stack.directClient
    .db(stack.directDatabase)
    .collection<PatientFields & { _id: string; version: number; lastUpdated: Date }>('patients');
  return {
    late: () => late,
    orchestrated: async () => {
      const headers = { 'content-type': 'application/json', 'x-functions-key': stack.patientKey };
      const response = await fetch(`${stack.patientAppUrl}/api/patient`, {
        method: 'POST',
        headers,
        body: JSON.stringify(patient()),
      });
      let status = response.status;
      await response.arrayBuffer();
      if (status === 202) {
        // Not finished within the app's wait: follow the operation link to the final answer (bounded).
        late++;
        const location = response.headers.get('location') ?? '';
        const deadline = Date.now() + 120_000;
        while (status === 202 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          const answer = await fetch(`${stack.patientAppUrl}${location}`, {
            headers: { 'x-functions-key': stack.patientKey },
          });
          status = answer.status;
          await answer.arrayBuffer();
        }
      }
      if (status !== 201) throw new Error(`orchestrated write answered ${status}`);
    },
    direct: async () => {
      const id = randomUUID();
      const response = await fetch(`${stack.auditAppUrl}/api/auditrecord`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-functions-key': stack.auditKey },
        body: JSON.stringify({
          sourceSystemName: 'bench-direct',
          resource: { type: 'patient', id, operation: 'create' },
        }),
      });
      if (response.status !== 201 && response.status !== 200)
        throw new Error(`audit-app answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
      await direct.insertOne({ _id: id, ...patient(), version: 1, lastUpdated: new Date() });
    },
  };
}

/** One path at one level: timing, then the commands it sent once the store is quiet again. */
async function runPath(
  stack: BenchStack,
  write: () => Promise<void>,
  concurrency: number,
  count: number,
): Promise<PathResult & { from: Date; to: Date }> {
  const before = await settle(stack);
  const from = new Date();
  const { seconds, latencies } = await measure(write, concurrency, count);
  const to = new Date();
  const after = await settle(stack);
  return {
    writes: count,
    writesPerSecond: round1(count / seconds),
    ...latencySummary(latencies),
    operations: operationsPerWrite(before, after, count),
    from,
    to,
  };
}

function checkedOutCommit(): string {
  const git = (...args: string[]): string =>
    execFileSync('git', args, { cwd: repositoryRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') === '' ? '' : '+changes'}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

export async function runBench(
  stack: BenchStack,
  settings: BenchSettings,
  progress: (level: LevelResult) => void = quiet,
): Promise<BenchResults> {
  const cpus = os.cpus();
  const results: BenchResults = {
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? '',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.type()} ${os.release()}`,
      loadAverage: os.loadavg().map(round2),
    },
    date: new Date().toISOString(),
    commit: checkedOutCommit(),
    store: stack.storeKind === 'ferretdb' ? 'embedded FerretDB 1.24.2 (SQLite)' : 'MONGODB_URI',
    counting: 'MongoDB wire commands per consumer, read by a loopback TCP proxy (connection commands left out)',
    settings,
    levels: [],
  };
  const write = writers(stack);
  await measure(write.orchestrated, 4, settings.warmUp);
  await measure(write.direct, 4, settings.warmUp);
  const hub = stack.readerClient.db(stack.hubDatabase);
  for (const concurrency of settings.levels) {
    const count = Math.max(settings.requests, concurrency * 2);
    const lateBefore = write.late();
    const { from, to, ...orchestrated } = await runPath(stack, write.orchestrated, concurrency, count);
    const answered202 = write.late() - lateBefore;
    const direct = await runPath(stack, write.direct, concurrency, count);
    const timings = await readOrchestrationTimings(hub, stack.hubName, ORCHESTRATION_NAMES.createPatient, { from, to });
    const level: LevelResult = {
      concurrency,
      orchestrated: { ...orchestrated, answered202, orchestration: summarizeTimings(timings) },
      direct: {
        writes: direct.writes,
        writesPerSecond: direct.writesPerSecond,
        p50: direct.p50,
        p95: direct.p95,
        p99: direct.p99,
        operations: direct.operations,
      },
      throughputRatio: round2(direct.writesPerSecond / orchestrated.writesPerSecond),
      p50Ratio: round2(orchestrated.p50 / direct.p50),
    };
    results.levels.push(level);
    progress(level);
  }
  return results;
}
