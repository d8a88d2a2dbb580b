#!/usr/bin/env node
// `npm run bench`: on one embedded store, the orchestrated POST /api/patient end to end against a
// direct synchronous write of the same data (POST audit-app's /api/auditrecord, then insertOne
// into MongoDB: the older system's design), at concurrency 1, 8 and 32 after a warm-up. Writes
// loadtest/results/bench.json and prints a Markdown table (see docs/performance.md).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startDevhost, startStore } from '@patient-records/devhost';
import { MongoClient } from 'mongodb';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const levels = (process.env.BENCH_CONCURRENCY ?? '1,8,32').split(',').map(Number);
const perLevel = Number(process.env.BENCH_REQUESTS ?? 64);
const warmUp = Number(process.env.BENCH_WARMUP ?? 16);

const patient = () => ({ firstName: 'Ada', lastName: `Bench${randomBytes(3).toString('hex')}`, gender: 'female', dateOfBirth: '1815-12-10', postCode: '2000' });

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Runs `count` calls of `write` with `concurrency` in flight; every call must succeed. */
async function measure(write, concurrency, count) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      next++;
      const t0 = performance.now();
      await write();
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (n) => Math.round(n * 10) / 10;
  return { concurrency, writes: count, writesPerSecond: round(count / seconds), p50: round(percentile(latencies, 50)), p95: round(percentile(latencies, 95)), p99: round(percentile(latencies, 99)) };
}

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const patientKey = randomBytes(16).toString('hex');
  const auditKey = randomBytes(16).toString('hex');
  const store = await startStore({ dataDir: path.join(dir, 'store'), log: () => undefined });
  const hosts = [];
  const client = await MongoClient.connect(store.uri);
  const stopAll = async () => {
    for (const host of hosts.reverse()) await host.stop().catch(() => undefined);
    await client.close().catch(() => undefined);
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void stopAll().then(() => process.exit(130)));
  try {
    const quiet = () => undefined;
    const audit = await startDevhost({ appDir: path.join(root, 'audit-app'), port: 0, keysFile: path.join(dir, 'audit-keys.json'), hostKeys: { patientApp: auditKey }, env: { MONGODB_CONNECTION_STRING: store.uri, AUDIT_DATABASE_NAME: 'benchaudit' }, log: quiet });
    hosts.push(audit);
    const patients = await startDevhost({
      appDir: path.join(root, 'patient-app'), port: 0, mongoUri: store.uri, databaseName: 'benchhub', keysFile: path.join(dir, 'patient-keys.json'), hostKeys: { consumer: patientKey },
      env: { MONGODB_CONNECTION_STRING: store.uri, PATIENT_DATABASE_NAME: 'benchpatients', AUDIT_API_URL: audit.url, AUDIT_API_KEY: auditKey, PAYLOAD_ENCRYPTION_KEY: randomBytes(32).toString('base64'), IDEMPOTENCY_HMAC_KEY: randomBytes(32).toString('base64') },
      log: quiet,
    });
    hosts.push(patients);
    let late = 0;
    const direct = client.db('benchdirect').collection('patients');

    const orchestrated = async () => {
      const response = await fetch(`${patients.url}/api/patient`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-functions-key': patientKey }, body: JSON.stringify(patient()) });
      let status = response.status;
      await response.arrayBuffer();
      if (status === 202) {
        // Not finished within the app's wait: follow the operation link to the final answer (bounded).
        late++;
        const location = response.headers.get('location') ?? '';
        const deadline = Date.now() + 120_000;
        while (status === 202 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          const answer = await fetch(`${patients.url}${location}`, { headers: { 'x-functions-key': patientKey } });
          status = answer.status;
          await answer.arrayBuffer();
        }
      }
      if (status !== 201) throw new Error(`orchestrated write answered ${status}`);
    };
    const synchronous = async () => {
      const id = randomUUID();
      const response = await fetch(`${audit.url}/api/auditrecord`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-functions-key': auditKey }, body: JSON.stringify({ sourceSystemName: 'bench-direct', resource: { type: 'patient', id, operation: 'create' } }) });
      if (response.status !== 201 && response.status !== 200) throw new Error(`audit-app answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
      await direct.insertOne({ _id: id, ...patient(), version: 1, lastUpdated: new Date() });
    };

    const results = { machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.type()} ${os.release()}` }, date: new Date().toISOString(), store: 'embedded FerretDB 1.24.2 (SQLite)', requestsPerLevel: perLevel, warmUp, levels: [] };
    await measure(orchestrated, 4, warmUp);
    await measure(synchronous, 4, warmUp);
    for (const concurrency of levels) {
      const count = Math.max(perLevel, concurrency * 2);
      late = 0;
      const o = { ...(await measure(orchestrated, concurrency, count)), answered202: 0 };
      o.answered202 = late;
      const d = await measure(synchronous, concurrency, count);
      const level = { concurrency, orchestrated: o, direct: d, throughputRatio: Math.round((d.writesPerSecond / o.writesPerSecond) * 100) / 100, p50Ratio: Math.round((o.p50 / d.p50) * 100) / 100 };
      results.levels.push(level);
      console.log(JSON.stringify(level));
    }
    mkdirSync(path.join(root, 'loadtest', 'results'), { recursive: true });
    writeFileSync(path.join(root, 'loadtest', 'results', 'bench.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log('\n| concurrency | path | writes/s | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|');
    for (const l of results.levels) {
      for (const [name, r] of [['orchestrated', l.orchestrated], ['direct (audit, then insert)', l.direct]]) console.log(`| ${l.concurrency} | ${name} | ${r.writesPerSecond} | ${r.p50} | ${r.p95} | ${r.p99} |`);
    }
    console.log('\nloadtest/results/bench.json written');
  } finally {
    await stopAll();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
