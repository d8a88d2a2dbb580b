/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies from the wire */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { fixturesDir, useTempDir, waitForExit } from './support/devhost';
import { useStore } from './support/store';

const launcher = path.resolve(__dirname, '..', 'bin', 'devhost.js');
const store = useStore('cli_durable');
const tmp = useTempDir('cli-durable-');
const masterKey = 'cli-durable-master-key-0123456789';
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts `devhost` on the durable fixture app and resolves with its URL and worker pid. */
async function startCli(): Promise<{ child: ChildProcess; url: string; workerPid: number }> {
  const child = spawn(
    process.execPath,
    [launcher, '--app', path.join(fixturesDir, 'durable-client-app'), '--port', '0', '--key', masterKey],
    {
      env: { ...process.env, MONGODB_URI: store.store().uri, PATIENT_RECORDS_LOCAL_DIR: tmp() },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  const banner = await new Promise<string>((resolve, reject) => {
    const output: string[] = [];
    const timer = setTimeout(() => reject(new Error(`devhost did not start:\n${output.join('\n')}`)), 30_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      output.push(line);
      if (line.includes('Functions app running at')) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    createInterface({ input: child.stderr }).on('line', (line) => output.push(line));
  });
  return {
    child,
    url: /running at (http:\/\/\S+)/.exec(banner)![1]!,
    workerPid: Number(/worker pid (\d+)/.exec(banner)![1]),
  };
}

async function statusOf(url: string, id: string): Promise<any> {
  const response = await fetch(`${url}/runtime/webhooks/durabletask/instances/${id}`, {
    headers: { 'x-functions-key': masterKey },
  });
  return response.json();
}

describe('devhost CLI with Durable functions', () => {
  it('resumes an orchestration after the devhost is killed with SIGKILL and started again', async () => {
    const first = await startCli();
    const started = await fetch(`${first.url}/api/orchestrators/AwaitApproval`, {
      method: 'POST',
      headers: { 'x-functions-key': masterKey, 'content-type': 'application/json' },
      body: 'null',
    });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    // The orchestrator has run its first episode once its custom status is recorded.
    for (let attempt = 0; attempt < 100 && (await statusOf(first.url, id)).customStatus !== 'waiting'; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await statusOf(first.url, id)).toMatchObject({ runtimeStatus: 'Running', customStatus: 'waiting' });

    first.child.kill('SIGKILL');
    expect(await waitForExit(first.workerPid)).toBe(true);

    const second = await startCli();
    const approved = await fetch(`${second.url}/api/approve/${id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'after-restart' }),
    });
    expect(approved.status).toBe(202);
    let status: any;
    for (let attempt = 0; attempt < 200; attempt += 1) {
      status = await statusOf(second.url, id);
      if (status.runtimeStatus !== 'Running' && status.runtimeStatus !== 'Pending') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toMatchObject({
      runtimeStatus: 'Completed',
      output: { approval: { by: 'after-restart' }, seenBy: { pid: second.workerPid, runtimeStatus: 'Running' } },
    });

    const exited = new Promise<number | null>((resolve) => second.child.once('exit', (code) => resolve(code)));
    second.child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
