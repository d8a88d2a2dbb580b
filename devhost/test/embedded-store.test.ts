import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { MongoClient } from 'mongodb';

import { startStore } from '../src/store';

const cli = path.join(__dirname, '..', 'dist', 'bin', 'embedded-store.js');
const describeFerret = process.env.MONGODB_URI ? describe.skip : describe;

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describeFerret('the embedded FerretDB store', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'store-life-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  test('two stores run side by side, keep data across a restart, and stop cleanly', async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'store-life-'));
    const [a, b] = await Promise.all([
      startStore({ dataDir, log: () => undefined }),
      startStore({ dataDir: other, log: () => undefined }),
    ]);
    expect(a.uri).not.toBe(b.uri);
    const client = await MongoClient.connect(a.uri);
    await client
      .db('life')
      .collection('things')
      .insertOne({ _id: 'kept' } as never);
    await client.close();
    await Promise.all([a.stop(), b.stop()]);
    await a.stop(); // idempotent
    rmSync(other, { recursive: true, force: true });

    const again = await startStore({ dataDir, log: () => undefined });
    const reader = await MongoClient.connect(again.uri);
    expect(await reader.db('life').collection('things').countDocuments()).toBe(1);
    await reader.close();
    await again.stop();
  });

  test('the command line prints the URI, and SIGINT leaves no process behind', async () => {
    const child = spawn(process.execPath, [cli, '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const uri = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /MONGODB_URI=(\S+)/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`embedded-store exited early with ${code}`)));
    });
    const client = await MongoClient.connect(uri);
    await client.db('admin').command({ ping: 1 });
    await client.close();
    const ferretPids = (await promisify(execFile)('pgrep', ['-P', String(child.pid)])).stdout
      .trim()
      .split('\n')
      .map(Number);
    expect(ferretPids.length).toBe(1);

    const exitCode = await new Promise<number | null>((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGINT');
    });
    expect(exitCode).toBe(0);
    expect(ferretPids.filter(processIsAlive)).toEqual([]);
  });
});

test('without Go and without MONGODB_URI, the store says what to install', async () => {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'no-tools-'));
  const result = await promisify(execFile)(process.execPath, [cli], {
    env: { PATH: '/usr/bin:/bin', PATIENT_RECORDS_LOCAL_DIR: empty },
  }).catch((error: unknown) => error);
  rmSync(empty, { recursive: true, force: true });
  expect(result).toMatchObject({ code: 1 });
  expect((result as { stderr: string }).stderr).toMatch(/Install Go .* or set MONGODB_URI/);
});
