import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { MongoClient } from 'mongodb';

import { localDir } from '../paths';
import { ensureFerretDb, type Log } from './ferretdb';
import { freePort } from './ports';

/** A running MongoDB wire-protocol store, and how to stop it. */
export interface Store {
  /** Connection string for the official driver. */
  readonly uri: string;
  /** `external`: the server named by MONGODB_URI; `ferretdb`: a FerretDB process this module started. */
  readonly kind: 'external' | 'ferretdb';
  /** For FerretDB, the folder holding its SQLite files and its log. */
  readonly dataDir?: string;
  /** Stops the server if this module started it; leaves an external server alone. Idempotent. */
  stop(): Promise<void>;
}

export interface StartStoreOptions {
  /** Use this server instead of starting one. Defaults to `process.env.MONGODB_URI`. */
  mongoUri?: string | undefined;
  /** Where FerretDB keeps its data. Defaults to `.local/data`; tests pass a fresh temporary folder. */
  dataDir?: string;
  /** Progress and diagnostics. Defaults to standard error. */
  log?: Log;
  /** How long to wait for the server to answer `ping`. */
  readyTimeoutMs?: number;
}

/**
 * Resolves the store in the documented order: MONGODB_URI, else a FerretDB binary in `.local/bin`,
 * else one built with Go now; then waits until the official driver can ping it.
 */
export async function startStore(options: StartStoreOptions = {}): Promise<Store> {
  const log = options.log ?? ((line: string) => console.error(line));
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const mongoUri = 'mongoUri' in options ? options.mongoUri : process.env.MONGODB_URI;
  if (mongoUri) {
    await waitForPing(mongoUri, readyTimeoutMs, () => undefined);
    return { uri: mongoUri, kind: 'external', stop: () => Promise.resolve() };
  }

  const binary = await ensureFerretDb(log);
  const dataDir = path.resolve(options.dataDir ?? localDir('data'));
  mkdirSync(dataDir, { recursive: true });

  // The port is free when asked for, but another process may take it first: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    try {
      return await launch(binary, dataDir, port, readyTimeoutMs);
    } catch (error) {
      lastError = error;
      if (!String(error).includes('address already in use')) break;
    }
  }
  throw lastError;
}

async function launch(binary: string, dataDir: string, port: number, readyTimeoutMs: number): Promise<Store> {
  const logFile = path.join(dataDir, 'ferretdb.log');
  const logFd = openSync(logFile, 'a');
  const child = spawn(
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      // FerretDB otherwise reports to its vendor, serves debug handlers on a fixed port
      // (which parallel stores would fight over) and writes its state file into the working folder.
      '--telemetry=disable',
      '--debug-addr=-',
      `--state-dir=${dataDir}`,
      '--log-level=warn',
    ],
    { stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);

  // Never leave the server behind: a normal exit of this process takes the child with it.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  let exited: string | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `FerretDB exited (code ${code ?? 'none'}, signal ${signal ?? 'none'})`;
      process.off('exit', killOnExit);
      resolve();
    });
  });

  const uri = `mongodb://127.0.0.1:${port}/`;
  const stop = async (): Promise<void> => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitedPromise;
      clearTimeout(timer);
    }
  };

  try {
    await waitForPing(uri, readyTimeoutMs, () => exited);
  } catch (error) {
    await stop();
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`${(error as Error).message}\nFerretDB log (${logFile}):\n${tail}`);
  }
  return { uri, kind: 'ferretdb', dataDir, stop };
}

async function waitForPing(uri: string, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const gone = exited();
    if (gone) throw new Error(gone);
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await client.close();
    }
  }
  throw new Error(`The store at ${uri} did not answer ping within ${timeoutMs} ms: ${String(lastError)}`);
}
