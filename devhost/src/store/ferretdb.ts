import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { localDir } from '../paths';

/** The FerretDB release the project builds and tests against. */
export const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';

export type Log = (line: string) => void;

/** Raised when no store can be had on this machine; the message says what to install. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/** Where the built FerretDB binary lives (git-ignored). */
export function ferretDbBinaryPath(): string {
  return localDir('bin', 'ferretdb');
}

function hasGo(): boolean {
  const probe = spawnSync('go', ['version'], { stdio: 'ignore' });
  return probe.status === 0;
}

function binaryIsCurrent(binary: string): boolean {
  if (!existsSync(binary)) return false;
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 && probe.stdout.includes(`version: ${FERRETDB_VERSION}`);
}

/**
 * Returns the path of a FerretDB binary of the pinned version, building it with Go the first time.
 * Concurrent callers (parallel test workers, a second terminal) wait for one build instead of racing.
 */
export async function ensureFerretDb(log: Log = (line) => console.error(line)): Promise<string> {
  const binary = ferretDbBinaryPath();
  if (binaryIsCurrent(binary)) return binary;
  if (!hasGo()) {
    throw new StoreUnavailableError(
      'No MongoDB store is available: MONGODB_URI is not set and Go is not installed. ' +
        'Install Go 1.22 or newer (the project builds FerretDB with it), or set MONGODB_URI to a MongoDB server.',
    );
  }
  const lock = localDir('ferretdb-build.lock');
  mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      if (lockHolderIsGone(lock)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      log('[store] another process is building FerretDB; waiting for it');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (binaryIsCurrent(binary)) return binary;
    }
  }
  try {
    if (binaryIsCurrent(binary)) return binary;
    await buildFerretDb(binary, log);
    if (!binaryIsCurrent(binary)) throw new Error(`The FerretDB build finished, but ${binary} does not report ${FERRETDB_VERSION}`);
    return binary;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function lockHolderIsGone(lock: string): boolean {
  try {
    const pid = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return true;
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // ENOENT: the holder has not written its pid yet, so it is alive. ESRCH: it died mid-build.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Builds FerretDB through a small Go tool module under `.local/ferretdb-build`, the way the module
 * proxy reachable here accepts (`go get -tool`, then `go install`). The module as downloaded lacks the
 * generated `build/version/version.txt`, and a `go install`ed tool panics without it, so the build
 * uses a writable copy of the module source with that one file added (a `replace` directive).
 */
async function buildFerretDb(binary: string, log: Log): Promise<void> {
  const workDir = localDir('ferretdb-build');
  mkdirSync(workDir, { recursive: true });
  const env = { ...process.env, GOWORK: 'off' };
  const started = Date.now();
  log(`[store] building FerretDB ${FERRETDB_VERSION} with Go into ${path.dirname(binary)} (once; a few minutes on a new machine)`);

  if (!existsSync(path.join(workDir, 'go.mod'))) await run('go', ['mod', 'init', 'local/ferretdb-build'], workDir, env, log);
  await run('go', ['get', '-tool', `${FERRETDB_MODULE}/cmd/ferretdb@${FERRETDB_VERSION}`], workDir, env, log);

  const listed = spawnSync('go', ['list', '-m', '-f', '{{.Dir}}', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], { cwd: workDir, env, encoding: 'utf8' });
  const moduleDir = listed.stdout.trim();
  if (listed.status !== 0 || !moduleDir) throw new Error(`go list could not locate the FerretDB module: ${listed.stderr}`);

  const sourceCopy = path.join(workDir, 'FerretDB');
  rmSync(sourceCopy, { recursive: true, force: true });
  cpSync(moduleDir, sourceCopy, { recursive: true });
  makeWritable(sourceCopy);
  writeFileSync(path.join(sourceCopy, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
  await run('go', ['mod', 'edit', `-replace=${FERRETDB_MODULE}=./FerretDB`], workDir, env, log);

  mkdirSync(path.dirname(binary), { recursive: true });
  log('[store] compiling FerretDB');
  await run('go', ['install', `${FERRETDB_MODULE}/cmd/ferretdb`], workDir, { ...env, GOBIN: path.dirname(binary) }, log);
  log(`[store] FerretDB built in ${Math.round((Date.now() - started) / 1000)} s`);
}

function makeWritable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) makeWritable(full);
    else chmodSync(full, 0o644);
  }
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, log: Log): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let downloads = 0;
    const output: string[] = [];
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        output.push(line);
        // `go get` prints one line per module; show a running count instead of a wall of text.
        if (line.startsWith('go: downloading')) {
          downloads += 1;
          if (downloads % 10 === 0) log(`[store]   downloaded ${downloads} Go modules`);
        } else if (!line.startsWith('go: added')) {
          log(`[store]   ${line}`);
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} failed with exit code ${code}:\n${output.slice(-20).join('\n')}`));
    });
  });
}
