import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { freePort } from '../src/store';
import { useTempDir, waitForExit } from './support/devhost';
import { useStore } from './support/store';

const stackScript = path.resolve(__dirname, '..', 'dist', 'bin', 'stack.js');
const store = useStore('stack');
const tmp = useTempDir('stack-test-');

/** Process ids of this process tree's descendants whose command line mentions the devhost worker. */
function workerPidsUnder(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  const commands = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
      commands.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8'));
    } catch {
      // Gone while we looked.
    }
  }
  const found: number[] = [];
  const visit = (pid: number): void => {
    for (const child of children.get(pid) ?? []) {
      if (commands.get(child)?.includes(path.join('worker', 'main.js'))) found.push(child);
      visit(child);
    }
  };
  visit(rootPid);
  return found;
}

describe('npm start (the local stack)', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  });

  it('serves both apps with the given keys and stops everything on Ctrl-C', async () => {
    const [patientPort, auditPort] = [await freePort(), await freePort()];
    const patientKey = 'local-patient-key-0123456789';
    const auditKey = 'local-audit-key-0123456789';
    child = spawn(process.execPath, [stackScript], {
      env: {
        ...process.env,
        MONGODB_URI: store.store().uri,
        PATIENT_RECORDS_LOCAL_DIR: tmp(),
        PATIENT_APP_PORT: String(patientPort),
        AUDIT_APP_PORT: String(auditPort),
        LOCAL_PATIENT_API_KEY: patientKey,
        LOCAL_AUDIT_API_KEY: auditKey,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, as in a terminal, so Ctrl-C's signal can reach every process in it.
      detached: true,
    });
    const output: string[] = [];
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the stack did not start:\n${output.join('\n')}`)), 45_000);
      createInterface({ input: child!.stdout! }).on('line', (line) => {
        output.push(line);
        if (line.startsWith('Local stack running')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child!.once('exit', (code) =>
        reject(new Error(`the stack exited with ${code ?? 'a signal'}:\n${output.join('\n')}`)),
      );
    });
    const banner = output.join('\n');
    expect(banner).toContain(`http://127.0.0.1:${patientPort}   key (x-functions-key): ${patientKey}`);
    expect(banner).toContain(`http://127.0.0.1:${auditPort}   key (x-functions-key): ${auditKey}`);

    const patient = `http://127.0.0.1:${patientPort}`;
    const audit = `http://127.0.0.1:${auditPort}`;
    expect((await fetch(`${patient}/api/health`)).status).toBe(200);
    expect((await fetch(`${audit}/api/health`)).status).toBe(200);
    const search = (key: string): Promise<Response> =>
      fetch(`${patient}/api/patient/search`, {
        method: 'POST',
        headers: { 'x-functions-key': key, 'content-type': 'application/json' },
        body: '{}',
      });
    expect((await search(patientKey)).status).toBe(200);
    expect((await search(auditKey)).status).toBe(401);
    expect((await fetch(`${audit}/api/auditrecord`, { headers: { 'x-functions-key': auditKey } })).status).toBe(200);
    expect((await fetch(`${audit}/api/auditrecord`, { headers: { 'x-functions-key': patientKey } })).status).toBe(401);

    // Generated secrets are kept for the next start; keys given in the environment are not written.
    const secrets = JSON.parse(readFileSync(path.join(tmp(), 'stack-secrets.json'), 'utf8'));
    expect(Buffer.from(secrets.payloadEncryptionKey, 'base64')).toHaveLength(32);
    expect(JSON.stringify(secrets)).not.toContain(patientKey);

    const workers = workerPidsUnder(child.pid!);
    expect(workers).toHaveLength(2);
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    // Ctrl-C signals the whole foreground process group: the stack and both apps' workers at once.
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    for (const pid of workers) expect(await waitForExit(pid)).toBe(true);
    // The workers leave when their hosts stop them, not as crashes the hosts would restart.
    expect(`${output.join('\n')}\n${stderr}`).not.toMatch(/exited unexpectedly|restarting/i);
  });
});
