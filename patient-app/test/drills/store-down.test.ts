/**
 * Fault drill: the patient store unavailable under load (docs/reliability.md). A stream of writes
 * (creates, most with an `Idempotency-Key`) and reads (a patient by id, a search) runs before,
 * during and after a seeded period in which a TCP proxy cuts every connection of patient-app's own
 * client to the store. The task hub and audit-app keep theirs: in Azure the task hub is Azure
 * Storage and the audit register its own database, so an outage of the patient store (Cosmos DB)
 * reaches patient-app alone.
 *
 * Held means: every answer is a success or a 503 in the one error shape (no 500, no stack trace);
 * reads never return partial data; after the store is back, without restarting anything, a client
 * that repeats its 503'd write with the same key gets it done once, and new writes and reads
 * succeed; the store holds exactly the patients answered 201, each with its full audit trail.
 */
import { auditOutcomes, drillPatient, leaksInternals, seededRandom, settled, sleep, unfinishedInstances } from '../support/drills';
import { type Answer, call, type Stack, useStack } from '../support/stack';
import { useStoreProxy } from '../support/store-proxy';

jest.setTimeout(90_000);

const holder: { stack?: Stack } = {};
const storeProxy = useStoreProxy(() => {
  if (!holder.stack) throw new Error('no stack');
  return holder.stack.store().uri;
});
// A second proxy in front of the task hub, for the blip drill.
const hubProxy = useStoreProxy(() => {
  if (!holder.stack) throw new Error('no stack');
  return holder.stack.store().uri;
});
const stack = useStack({
  patientMongoUri: (storeUri) => storeProxy.uri(storeUri),
  taskHubMongoUri: (storeUri) => hubProxy.uri(storeUri),
  patientEnv: { WRITE_WAIT_TIMEOUT_MS: '2000' },
});
holder.stack = stack;
const rand = seededRandom('store-down');

afterAll(() => {
  storeProxy.restore();
  hubProxy.restore();
});

interface Request {
  n: number;
  kind: 'create' | 'createWithoutKey' | 'read' | 'search';
  /** When the store was cut as it started (its answer may be a 503). */
  duringCut: boolean;
  startedAt: number;
  key?: string;
  body?: Record<string, string>;
  readOf?: Answer;
  final?: Answer;
  /** The answer to the client's repeat with the same key after the store was back. */
  repeat?: Answer;
}

const follow = (answer: Answer): Promise<Answer> => settled((location) => call(stack, 'GET', location), answer, 60_000);

describe('drill: the patient store unavailable under load', () => {
  it('answers 503 while it is cut, writes nothing partial, and recovers without a restart', async () => {
    // Patients to read during the drill.
    const known: Answer[] = [];
    for (let n = 0; n < 3; n += 1) {
      const created = await follow(await call(stack, 'POST', '/api/patient', { body: drillPatient('store-known', n) }));
      expect(created.status).toBe(201);
      known.push(created);
    }

    const before = 2_000;
    const cut = rand.between(6_000, 9_000);
    const after = 3_000;
    const requests: Request[] = [];
    const done: Promise<void>[] = [];
    let restoredAt = 0;

    const run = async (request: Request): Promise<void> => {
      switch (request.kind) {
        case 'create':
        case 'createWithoutKey': {
          const headers: Record<string, string> = request.key ? { 'idempotency-key': request.key } : {};
          request.final = await follow(await call(stack, 'POST', '/api/patient', { body: request.body, headers }));
          return;
        }
        case 'read':
          request.final = await call(stack, 'GET', `/api/patient/${String(request.readOf?.body.id)}`);
          return;
        case 'search':
          request.final = await call(stack, 'POST', '/api/patient/search', { body: { lastName: 'store-known-Fairweather' } });
      }
    };
    const outageDone = (async () => {
      await sleep(before);
      storeProxy.cut();
      await sleep(cut);
      storeProxy.restore();
      restoredAt = Date.now();
    })();

    for (let n = 0; n < 120 && (restoredAt === 0 || Date.now() - restoredAt < after); n += 1) {
      const pick = rand.next();
      const kind: Request['kind'] = pick < 0.45 ? 'create' : pick < 0.6 ? 'createWithoutKey' : pick < 0.85 ? 'read' : 'search';
      const request: Request = { n, kind, duringCut: storeProxy.isCut, startedAt: Date.now() };
      if (kind === 'create') request.key = `drill-store-${rand.seed}-${n}`;
      if (kind === 'create' || kind === 'createWithoutKey') request.body = drillPatient('store', n);
      if (kind === 'read') request.readOf = known[rand.between(0, known.length - 1)];
      requests.push(request);
      done.push(run(request));
      await sleep(rand.between(250, 450));
    }
    await outageDone;
    await Promise.all(done);

    const tally = new Map<string, number>();
    for (const r of requests) {
      const entry = `${r.kind}${r.duringCut ? ' (cut)' : ''} ${r.final?.status ?? 0}`;
      tally.set(entry, (tally.get(entry) ?? 0) + 1);
    }
    console.info(`[store-down] ${requests.length} requests, store cut for ${cut} ms; answers ${JSON.stringify(Object.fromEntries([...tally].sort()))}`);

    // Clear answers only: success, or 503 in the one error shape with Retry-After; never a 500 or internals.
    const expected: Record<Request['kind'], number> = { create: 201, createWithoutKey: 201, read: 200, search: 200 };
    expect(requests.filter((r) => r.final?.status !== expected[r.kind] && r.final?.status !== 503).map((r) => ({ n: r.n, kind: r.kind, status: r.final?.status, body: r.final?.body as unknown }))).toEqual([]);
    for (const r of requests) {
      expect(leaksInternals(JSON.stringify(r.final?.body ?? ''))).toBe(false);
      if (r.final?.status === 503) {
        expect(r.final.headers.get('retry-after')).toBeTruthy();
        expect(['store_unavailable', 'dependency_unavailable']).toContain(r.final.body.error.code);
      }
    }
    // The cut was felt, and only while it lasted: requests started after the store came back succeed.
    expect(requests.filter((r) => r.final?.status === 503).length).toBeGreaterThan(0);
    expect(requests.filter((r) => r.duringCut).length).toBeGreaterThan(0);
    expect(requests.filter((r) => r.startedAt > restoredAt && r.final?.status !== expected[r.kind]).map((r) => ({ n: r.n, kind: r.kind, status: r.final?.status }))).toEqual([]);
    // No partial data: a read answers the whole patient as created.
    for (const r of requests.filter((x) => (x.kind === 'read' || x.kind === 'search') && x.final?.status === 200)) {
      if (r.kind === 'read') expect(r.final?.body).toEqual(r.readOf?.body);
      else expect(r.final?.body).toEqual(expect.arrayContaining(known.map((k) => expect.objectContaining({ id: k.body.id }))));
    }

    // The store is back: a client repeats each 503'd write with the same key and gets one answer for it.
    for (const r of requests.filter((x) => x.kind === 'create' && x.final?.status === 503)) {
      r.repeat = await follow(await call(stack, 'POST', '/api/patient', { body: r.body, headers: { 'idempotency-key': r.key! } }));
      // Not started before the cut: it starts now and succeeds. Started and compensated: the same 503 again.
      if (r.final?.body.error.code === 'store_unavailable') expect({ n: r.n, status: r.repeat.status }).toEqual({ n: r.n, status: 201 });
      else expect({ n: r.n, status: r.repeat.status, body: r.repeat.body as unknown }).toEqual({ n: r.n, status: 503, body: r.final?.body as unknown });
    }
    // New writes and reads succeed on the same running apps.
    const fresh = await follow(await call(stack, 'POST', '/api/patient', { body: drillPatient('store', 999), headers: { 'idempotency-key': `drill-store-${rand.seed}-fresh` } }));
    expect(fresh.status).toBe(201);
    expect((await call(stack, 'GET', `/api/patient/${String(fresh.body.id)}`)).body).toEqual(fresh.body);
    expect((await call(stack, 'POST', '/api/patient/search', { body: { lastName: 'store-known-Fairweather' } })).status).toBe(200);

    // Count and compare: exactly the patients answered 201 are live, each once, with its audit trail.
    const creates = requests.filter((r) => r.kind === 'create' || r.kind === 'createWithoutKey');
    const answered = [...known, fresh, ...creates.map((r) => (r.repeat?.status === 201 ? r.repeat : r.final)).filter((a): a is Answer => a?.status === 201)];
    const live = await stack.patientDb().collection<{ _id: string; patient: Record<string, unknown> | null }>('patients').find({ deleted: false }).toArray();
    expect(live.map((p) => p._id).sort()).toEqual(answered.map((a) => String(a.body.id)).sort());
    const versions = stack.patientDb().collection<{ patientId: string; kind: string }>('patientVersions');
    for (const answer of answered) {
      const id = String(answer.body.id);
      expect({ ...live.find((p) => p._id === id)?.patient, id, lastUpdated: answer.body.lastUpdated as unknown }).toEqual(answer.body);
      expect((await versions.find({ patientId: id }).toArray()).map((v) => v.kind)).toEqual(['create']);
      expect(await auditOutcomes(stack.auditDb(), answer.headers.get('x-operation-id')!)).toEqual(['attempted', 'succeeded']);
    }
    // A write compensated during the cut: nothing of it is live, and no success on record.
    for (const r of creates.filter((x) => x.final?.status === 503 && x.final.body.error.code === 'dependency_unavailable')) {
      expect(await auditOutcomes(stack.auditDb(), String(r.final?.body.error.details.operationId))).not.toContain('succeeded');
    }
    expect(await unfinishedInstances(stack.taskHubDb(), stack.patients().hubName)).toEqual([]);
  });

  it('rides out a blip of the task hub store: writes complete once, or answer 503 and complete once when repeated', async () => {
    const live = stack.patientDb().collection<{ _id: string }>('patients');
    const liveBefore = new Set((await live.find({ deleted: false }).toArray()).map((p) => p._id));
    const blip = rand.between(1_000, 3_000);
    const writes: Request[] = [];
    const done: Promise<void>[] = [];
    let restoredAt = 0;
    const blipDone = (async () => {
      await sleep(1_500);
      hubProxy.cut();
      await sleep(blip);
      hubProxy.restore();
      restoredAt = Date.now();
    })();
    for (let n = 0; n < 60 && (restoredAt === 0 || Date.now() - restoredAt < 2_000); n += 1) {
      const write: Request = { n, kind: 'create', duringCut: hubProxy.isCut, startedAt: Date.now(), key: `drill-hub-${rand.seed}-${n}`, body: drillPatient('hub', n) };
      writes.push(write);
      done.push(
        (async () => {
          write.final = await follow(await call(stack, 'POST', '/api/patient', { body: write.body, headers: { 'idempotency-key': write.key! } }));
        })(),
      );
      await sleep(rand.between(200, 400));
    }
    await blipDone;
    await Promise.all(done);
    const tally = new Map<string, number>();
    for (const w of writes) {
      const entry = `${w.duringCut ? '(cut) ' : ''}${w.final?.status ?? 0}${w.final?.status === 503 ? ` ${String(w.final.body.error.code)}` : ''}`;
      tally.set(entry, (tally.get(entry) ?? 0) + 1);
    }
    console.info(`[store-down] task hub blip: ${writes.length} writes, hub cut for ${blip} ms; answers ${JSON.stringify(Object.fromEntries([...tally].sort()))}`);

    expect(writes.filter((w) => w.final?.status !== 201 && w.final?.status !== 503).map((w) => ({ n: w.n, status: w.final?.status, body: w.final?.body as unknown }))).toEqual([]);
    for (const w of writes) {
      expect(leaksInternals(JSON.stringify(w.final?.body ?? ''))).toBe(false);
      if (w.final?.status === 503) expect(w.final.headers.get('retry-after')).toBeTruthy();
    }
    // Repeated with the same key once the hub is back, every 503'd write completes.
    for (const w of writes.filter((x) => x.final?.status === 503)) {
      w.repeat = await follow(await call(stack, 'POST', '/api/patient', { body: w.body, headers: { 'idempotency-key': w.key! } }));
      expect({ n: w.n, status: w.repeat.status }).toEqual({ n: w.n, status: 201 });
    }
    const answered = writes.map((w) => w.repeat ?? w.final).filter((a): a is Answer => a?.status === 201);
    const added = (await live.find({ deleted: false }).toArray()).map((p) => p._id).filter((id) => !liveBefore.has(id));
    expect(added.sort()).toEqual(answered.map((a) => String(a.body.id)).sort());
    for (const answer of answered) expect(await auditOutcomes(stack.auditDb(), answer.headers.get('x-operation-id')!)).toEqual(['attempted', 'succeeded']);
    expect(await unfinishedInstances(stack.taskHubDb(), stack.patients().hubName)).toEqual([]);
  });
});
