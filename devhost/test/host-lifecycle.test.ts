import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { AppStartError, startDevhost, UnsupportedFunctionError } from '../src/host';
import { fixturesDir, LogCapture, useTempDir, waitForExit, writeHostJson } from './support/devhost';

const tmp = useTempDir();
const repoNodeModules = path.resolve(__dirname, '..', '..', 'node_modules');

/** Worker processes (ours or not) whose command line names this app folder. */
function workersFor(appDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (commandLine.some((arg) => arg.endsWith(path.join('worker', 'main.js'))) && commandLine.includes(appDir))
        pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** A small app written into the scratch folder, resolving @azure/functions from the repository. */
function writeApp(name: string, source: string): string {
  const dir = path.join(tmp(), name);
  mkdirSync(path.join(dir, 'dist'), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true, main: 'dist/index.js' }));
  writeFileSync(path.join(dir, 'dist', 'index.js'), source);
  return dir;
}

const versionApp = (version: string): string => `
const { app } = require('@azure/functions');
app.http('version', { methods: ['GET'], authLevel: 'anonymous', handler: async () => ({ jsonBody: { version: '${version}', pid: process.pid } }) });
`;

describe('start-up errors', () => {
  it('refuses an app with an unsupported trigger or binding, naming each, and leaves no worker', async () => {
    const appDir = path.join(fixturesDir, 'unsupported-app');
    const attempt = startDevhost({
      appDir,
      port: 0,
      keysFile: path.join(tmp(), 'unsupported.json'),
      log: () => undefined,
    });
    await expect(attempt).rejects.toThrow(UnsupportedFunctionError);
    const error = (await attempt.catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('function "nightly": trigger type "timerTrigger" is not supported');
    expect(error.message).toMatch(/function "withQueue": out binding "\w+" of type "queue" is not supported/);
    expect(error.message).not.toContain('"fine"');
    expect(workersFor(appDir)).toEqual([]);
  });

  it('reports an app that throws while loading, with its message', async () => {
    const appDir = path.join(fixturesDir, 'broken-app');
    const attempt = startDevhost({ appDir, port: 0, keysFile: path.join(tmp(), 'broken.json'), log: () => undefined });
    await expect(attempt).rejects.toThrow(AppStartError);
    await expect(attempt).rejects.toThrow('missing setting DATABASE_URL');
    expect(workersFor(appDir)).toEqual([]);
  });
});

describe('reloading', () => {
  it('reload() starts a new worker that serves the app again', async () => {
    const appDir = writeApp('reload-app', versionApp('one'));
    const host = await startDevhost({
      appDir,
      port: 0,
      keysFile: path.join(tmp(), 'reload.json'),
      env: { NODE_PATH: repoNodeModules },
      log: () => undefined,
    });
    try {
      const first = (await (await fetch(`${host.url}/api/version`)).json()) as { pid: number };
      await host.reload();
      const second = (await (await fetch(`${host.url}/api/version`)).json()) as { pid: number };
      expect(host.state()).toBe('Running');
      expect(second.pid).not.toBe(first.pid);
      expect(await waitForExit(first.pid)).toBe(true);
    } finally {
      await host.stop();
    }
  });

  it('--watch reloads the app when its build output changes', async () => {
    const appDir = writeApp('watch-app', versionApp('before'));
    const logs = new LogCapture();
    const host = await startDevhost({
      appDir,
      port: 0,
      watch: true,
      keysFile: path.join(tmp(), 'watch.json'),
      env: { NODE_PATH: repoNodeModules },
      log: logs.log,
    });
    try {
      expect(await (await fetch(`${host.url}/api/version`)).json()).toMatchObject({ version: 'before' });
      const mark = logs.entries.length;
      writeFileSync(path.join(appDir, 'dist', 'index.js'), versionApp('after'));
      await logs.waitFor((entry) => entry.message.startsWith('Worker process started'), 20_000, mark);
      expect(await (await fetch(`${host.url}/api/version`)).json()).toMatchObject({ version: 'after' });
    } finally {
      await host.stop();
    }
  });

  it('starts a new worker when the worker process dies', async () => {
    const appDir = writeApp(
      'crash-app',
      `const { app } = require('@azure/functions');
       app.http('die', { authLevel: 'anonymous', handler: async () => { setImmediate(() => process.exit(3)); return { body: 'bye' }; } });
       app.http('pid', { authLevel: 'anonymous', handler: async () => ({ body: String(process.pid) }) });`,
    );
    const logs = new LogCapture();
    const host = await startDevhost({
      appDir,
      port: 0,
      keysFile: path.join(tmp(), 'crash.json'),
      env: { NODE_PATH: repoNodeModules },
      log: logs.log,
    });
    try {
      const before = host.workerPid();
      const mark = logs.entries.length;
      expect(await (await fetch(`${host.url}/api/die`)).text()).toBe('bye');
      await logs.waitFor(
        (entry) => entry.message.includes('The worker process exited unexpectedly (code 3'),
        20_000,
        mark,
      );
      const after = await fetch(`${host.url}/api/pid`);
      expect(after.status).toBe(200);
      expect(Number(await after.text())).not.toBe(before);
    } finally {
      await host.stop();
    }
  });

  it('fails a function that exceeds functionTimeout and restarts the worker', async () => {
    const appDir = writeApp(
      'slow-app',
      `const { app } = require('@azure/functions');
       app.http('slow', { authLevel: 'anonymous', handler: () => new Promise(() => undefined) });
       app.http('quick', { authLevel: 'anonymous', handler: async () => ({ body: String(process.pid) }) });`,
    );
    const logs = new LogCapture();
    const host = await startDevhost({
      appDir,
      port: 0,
      keysFile: path.join(tmp(), 'slow.json'),
      hostJson: writeHostJson(tmp(), { version: '2.0', functionTimeout: '00:00:01' }, 'timeout-host.json'),
      env: { NODE_PATH: repoNodeModules },
      log: logs.log,
    });
    try {
      const pid = host.workerPid();
      const response = await fetch(`${host.url}/api/slow`);
      expect(response.status).toBe(500);
      const timeout = await logs.waitFor((entry) =>
        entry.message.includes("Timeout value of 00:00:01 exceeded by function 'Functions.slow'"),
      );
      expect(timeout.invocationId).toBeDefined();
      const quick = await fetch(`${host.url}/api/quick`);
      expect(quick.status).toBe(200);
      expect(Number(await quick.text())).not.toBe(pid);
    } finally {
      await host.stop();
    }
  });
});
