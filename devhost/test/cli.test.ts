import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { fixturesDir, processExists, useTempDir, waitForExit } from './support/devhost';

const launcher = path.resolve(__dirname, '..', 'bin', 'devhost.js');
const tmp = useTempDir();

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [launcher, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, PATIENT_RECORDS_LOCAL_DIR: tmp() },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('devhost CLI', () => {
  it('--help explains every option and exits 0', () => {
    const { status, stdout } = runCli(['--help']);
    expect(status).toBe(0);
    for (const option of ['--app', '--port', '--key', '--mongo-uri', '--hub', '--watch', '--inspect'])
      expect(stdout).toContain(option);
  });

  it('exits 2 on bad usage, saying what is wrong', () => {
    expect(runCli(['--bogus'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining("Unknown option '--bogus'"),
    });
    expect(runCli([])).toMatchObject({ status: 2, stderr: expect.stringContaining('--app <folder> is required') });
    expect(runCli(['--app', '.', '--port', 'x'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('--port'),
    });
  });

  it('exits 1 naming what it cannot serve', () => {
    const { status, stderr } = runCli(['--app', path.join(fixturesDir, 'unsupported-app'), '--port', '0']);
    expect(status).toBe(1);
    expect(stderr).toContain('timerTrigger');
  });

  it('serves the app, and on SIGTERM stops cleanly with its worker', async () => {
    let child: ChildProcess | undefined;
    try {
      child = spawn(
        process.execPath,
        [launcher, '--app', path.join(fixturesDir, 'http-app'), '--port', '0', '--key', 'cli-master-key-0123456789'],
        {
          env: { ...process.env, PATIENT_RECORDS_LOCAL_DIR: tmp() },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const lines = createInterface({ input: child.stdout! });
      const banner = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the CLI did not print its banner')), 20_000);
        lines.on('line', (line) => {
          if (line.includes('Functions app running at')) {
            clearTimeout(timer);
            resolve(line);
          }
        });
      });
      const url = /running at (http:\/\/\S+)/.exec(banner)?.[1];
      const workerPid = Number(/worker pid (\d+)/.exec(banner)?.[1]);
      expect(url).toBeDefined();
      expect(processExists(workerPid)).toBe(true);

      const status = await fetch(`${url}/admin/host/status`);
      expect(await status.json()).toMatchObject({ state: 'Running' });
      const admin = await fetch(`${url}/api/admin-thing`, {
        headers: { 'x-functions-key': 'cli-master-key-0123456789' },
      });
      expect(admin.status).toBe(200);

      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await waitForExit(workerPid)).toBe(true);
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('on Ctrl-C (SIGINT to the whole process group) stops its worker as planned, not as a crash', async () => {
    // detached: the CLI leads its own process group, as it does in a terminal, so the signal can
    // reach the worker too, as Ctrl-C's does.
    const child = spawn(
      process.execPath,
      [launcher, '--app', path.join(fixturesDir, 'http-app'), '--port', '0'],
      { env: { ...process.env, PATIENT_RECORDS_LOCAL_DIR: tmp() }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    try {
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const lines = createInterface({ input: child.stdout });
      const banner = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the CLI did not print its banner')), 20_000);
        lines.on('line', (line) => {
          if (line.includes('Functions app running at')) {
            clearTimeout(timer);
            resolve(line);
          }
        });
      });
      const workerPid = Number(/worker pid (\d+)/.exec(banner)?.[1]);
      expect(processExists(workerPid)).toBe(true);

      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      process.kill(-child.pid!, 'SIGINT');
      expect(await exited).toBe(0);
      expect(await waitForExit(workerPid)).toBe(true);
      expect(stderr).not.toMatch(/exited unexpectedly|restarting/i);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  });

  it('loses no worker when the CLI itself is killed with SIGKILL, and starts the worker under --inspect', async () => {
    const child = spawn(
      process.execPath,
      [launcher, '--app', path.join(fixturesDir, 'http-app'), '--port', '0', '--inspect=127.0.0.1:0'],
      { env: { ...process.env, PATIENT_RECORDS_LOCAL_DIR: tmp() }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const output: string[] = [];
      const seen = (pattern: RegExp): Promise<string> =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${String(pattern)} in:\n${output.join('\n')}`)), 20_000);
          const check = (line: string): void => {
            output.push(line);
            if (pattern.test(line)) {
              clearTimeout(timer);
              resolve(line);
            }
          };
          createInterface({ input: child.stdout }).on('line', check);
          createInterface({ input: child.stderr }).on('line', check);
        });
      const debuggerLine = seen(/Debugger listening on ws:\/\/127\.0\.0\.1:\d+/);
      const banner = await seen(/Functions app running at/);
      await debuggerLine;
      const workerPid = Number(/worker pid (\d+)/.exec(banner)?.[1]);
      expect(processExists(workerPid)).toBe(true);
      child.kill('SIGKILL');
      expect(await waitForExit(workerPid)).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
