import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { EXIT, runCli } from '../../../src/support/cli/support-cli';

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
}

/** A support API answering from a table, recording what the CLI sent (the CLI's logic is under test, not the API). */
function harness(
  answers: Record<string, { status: number; body: unknown }>,
  env: Record<string, string> = { LOCAL_SUPPORT_API_KEY: 'local-key' },
) {
  const sent: Sent[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const folder = mkdtempSync(join(tmpdir(), 'support-cli-'));
  const fetch = ((url: string, init: RequestInit) => {
    const headers = init.headers as Record<string, string>;
    sent.push({
      method: init.method ?? 'GET',
      url,
      headers,
      ...(init.body === undefined ? {} : { body: JSON.parse(init.body as string) }),
    });
    const path = new URL(url).pathname;
    const answer = answers[`${init.method ?? 'GET'} ${path}`] ?? {
      status: 404,
      body: { error: { code: 'not_found', message: 'No write with this instance id is known.' } },
    };
    return Promise.resolve(
      new Response(JSON.stringify(answer.body), {
        status: answer.status,
        headers: { 'content-type': 'application/json' },
      }),
    );
  }) as typeof globalThis.fetch;
  const run = (...argv: string[]) =>
    runCli(argv, {
      out: (text) => out.push(text),
      err: (text) => err.push(text),
      env,
      cwd: folder,
      repositoryRoot: folder,
      fetch,
      now: () => new Date('2026-12-02T12:00:00Z'),
    });
  return { run, sent, out, err, folder, cleanup: () => rmSync(folder, { recursive: true, force: true }) };
}

const list = {
  items: [
    {
      instanceId: 'i-1',
      kind: 'createPatient',
      status: 'completed',
      outcome: 'compensated',
      needsAttention: true,
      reason: 'auditResult unavailable; change undone',
      createdTime: '2026-12-02T11:00:00.000Z',
      patientId: 'p-1',
    },
  ],
  counts: {
    byStatus: { running: 0, completed: 1, failed: 0, terminated: 0 },
    byOutcome: { succeeded: 0, rejected: 0, compensated: 1, failed: 0, inProgress: 0 },
    total: 1,
  },
  range: { from: '2026-12-01T12:00:00.000Z', to: '2026-12-02T12:00:00.000Z' },
  continuationToken: null,
};

describe('npm run support', () => {
  it('lists writes with filters, the local key and the acting user, as a table', async () => {
    const h = harness({ 'GET /api/support/writes': { status: 200, body: list } });
    expect(await h.run('list', '--status', 'completed', '--since', '2h', '--user', 'j.smith')).toBe(EXIT.ok);
    const request = h.sent[0]!;
    expect(request.url).toBe(
      'http://127.0.0.1:7071/api/support/writes?status=completed&from=2026-12-02T10%3A00%3A00.000Z',
    );
    expect(request.headers).toMatchObject({ 'x-functions-key': 'local-key', 'x-caller-user': 'j.smith' });
    expect(h.out[0]).toContain('Writes from 2026-12-01 12:00:00Z to 2026-12-02 12:00:00Z: 1 (running 0 · completed 1');
    expect(h.out[0]).toMatch(
      /createPatient\s+completed\s+compensated !\s+i-1\s+p-1\s+auditResult unavailable; change undone/,
    );
    h.cleanup();
  });

  it('sends the APIM subscription key when pointed at APIM, and prints JSON on request', async () => {
    const h = harness({ 'GET /support/writes': { status: 200, body: list } });
    expect(await h.run('list', '--base-url', 'https://apim.example/support/', '--key', 'sub-key', '--json')).toBe(
      EXIT.ok,
    );
    expect(h.sent[0]!.headers['Ocp-Apim-Subscription-Key']).toBe('sub-key');
    expect(h.sent[0]!.headers['x-functions-key']).toBeUndefined();
    expect(JSON.parse(h.out[0]!)).toEqual(list);
    h.cleanup();
  });

  it('restarts with a reason and says where to follow the new write', async () => {
    const h = harness({
      'POST /api/support/writes/i-1/restart': {
        status: 202,
        body: { action: 'restart', instanceId: 'i-1', actionId: 'a-1', newInstanceId: 'i-2' },
      },
    });
    expect(await h.run('restart', 'i-1', '--reason', 'audit-app is back')).toBe(EXIT.ok);
    expect(h.sent[0]).toMatchObject({ method: 'POST', body: { reason: 'audit-app is back' } });
    expect(h.out[0]).toContain('Restarted i-1 as i-2 (audit action a-1).');
    h.cleanup();
  });

  it('erases a deleted patient with a reason, and says which writes still run when refused', async () => {
    const h = harness({
      'POST /api/support/patients/p-1/erase': {
        status: 200,
        body: {
          action: 'erase',
          patientId: 'p-1',
          actionId: 'a-9',
          versionsScrubbed: 3,
          testsRemoved: 2,
          instancesPurged: 6,
          instanceIds: [],
        },
      },
      'POST /api/support/patients/p-2/erase': {
        status: 409,
        body: {
          error: {
            code: 'write_running',
            message: 'A write of this patient is still running.',
            details: { instanceIds: ['i-7', 'i-8'] },
          },
        },
      },
    });
    expect(await h.run('erase', 'p-1', '--reason', 'erasure request ER-1 accepted')).toBe(EXIT.ok);
    expect(h.sent[0]).toMatchObject({ method: 'POST', body: { reason: 'erasure request ER-1 accepted' } });
    expect(h.out[0]).toBe(
      'Erased patient p-1: 3 versions emptied, 2 test results and 6 write instances removed (audit action a-9).',
    );
    expect(await h.run('erase', 'p-2', '--reason', 'erasure request ER-2 accepted')).toBe(EXIT.refused);
    expect(h.err[0]).toBe('409 write_running: A write of this patient is still running. (i-7, i-8)');
    expect(await h.run('erase', '--reason', 'no patient')).toBe(EXIT.usage);
    expect(await h.run('erase', 'p-1')).toBe(EXIT.usage);
    expect(h.sent).toHaveLength(2);
    h.cleanup();
  });

  it('refuses an action without a reason, before calling anything', async () => {
    const h = harness({});
    expect(await h.run('terminate', 'i-1')).toBe(EXIT.usage);
    expect(h.sent).toHaveLength(0);
    expect(h.err[0]).toContain('terminate needs --reason');
    h.cleanup();
  });

  it('maps API answers to exit codes scripts can use', async () => {
    const h = harness({
      'POST /api/support/writes/i-1/restart': {
        status: 409,
        body: { error: { code: 'already_restarted', message: 'The write was already restarted as i-2.' } },
      },
      'POST /api/support/writes/i-3/terminate': {
        status: 503,
        body: {
          error: { code: 'audit_unavailable', message: 'The audit register could not record the support action.' },
        },
      },
      'GET /api/support/writes': {
        status: 401,
        body: { error: { code: 'support_key_required', message: 'The support API takes the support key only.' } },
      },
    });
    expect(await h.run('show', 'nope')).toBe(EXIT.notFound);
    expect(await h.run('restart', 'i-1', '--reason', 'again')).toBe(EXIT.refused);
    expect(h.err[1]).toBe('409 already_restarted: The write was already restarted as i-2.');
    expect(await h.run('terminate', 'i-3', '--reason', 'stuck')).toBe(EXIT.unavailable);
    expect(await h.run('list')).toBe(EXIT.unauthorized);
    h.cleanup();
  });

  it('exports to a file for npm run replay', async () => {
    const exported = {
      format: 'patient-records/orchestration-export',
      version: 1,
      instance: { instanceId: 'i-1' },
      history: [],
    };
    const h = harness({ 'POST /api/support/writes/i-1/export': { status: 200, body: exported } });
    expect(await h.run('export', 'i-1', '--output', 'i-1.json')).toBe(EXIT.ok);
    expect(JSON.parse(readFileSync(join(h.folder, 'i-1.json'), 'utf8'))).toEqual(exported);
    expect(h.sent[0]!.body).toEqual({ reason: 'export for investigation' });
    expect(h.err[0]).toContain('npm run replay --');
    h.cleanup();
  });

  it('has help for every command and says what is wrong with the arguments', async () => {
    const h = harness({});
    for (const command of ['list', 'show', 'export', 'restart', 'terminate', 'purge', 'erase']) {
      expect(await h.run(command, '--help')).toBe(EXIT.ok);
      expect(h.out[h.out.length - 1]).toContain(`npm run support -- ${command}`);
    }
    expect(await h.run('frobnicate')).toBe(EXIT.usage);
    expect(await h.run('list', '--colour', 'red')).toBe(EXIT.usage);
    expect(await h.run('purge', '--reason', 'tidy')).toBe(EXIT.usage);
    expect(await h.run('list', '--since', 'yesterday')).toBe(EXIT.usage);
    expect(h.sent).toHaveLength(0);
    h.cleanup();
  });

  it('says where to get a key when there is none', async () => {
    const h = harness({}, {});
    expect(await h.run('list')).toBe(EXIT.usage);
    expect(h.err[0]).toContain('No support key');
    h.cleanup();
  });
});
