import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { type Devhost, type DevhostLogEntry, type DevhostOptions, startDevhost } from '../../src/host';

export const fixturesDir = path.join(__dirname, '..', 'fixtures');

/** Every log entry of a devhost, and a way to wait for one. */
export class LogCapture {
  readonly entries: DevhostLogEntry[] = [];
  readonly #events = new EventEmitter();

  readonly log = (entry: DevhostLogEntry): void => {
    this.entries.push(entry);
    this.#events.emit('entry', entry);
  };

  /** Resolves with the first entry (already seen or future) that matches; rejects after `timeoutMs`. */
  waitFor(predicate: (entry: DevhostLogEntry) => boolean, timeoutMs = 20_000, fromIndex = 0): Promise<DevhostLogEntry> {
    const seen = this.entries.slice(fromIndex).find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const onEntry = (entry: DevhostLogEntry): void => {
        if (!predicate(entry)) return;
        clearTimeout(timer);
        this.#events.off('entry', onEntry);
        resolve(entry);
      };
      const timer = setTimeout(() => {
        this.#events.off('entry', onEntry);
        reject(
          new Error(
            `No matching log entry within ${timeoutMs} ms; last entries:\n${this.entries
              .slice(-10)
              .map((e) => e.message)
              .join('\n')}`,
          ),
        );
      }, timeoutMs);
      this.#events.on('entry', onEntry);
    });
  }
}

/** A scratch folder removed after the file's tests. */
export function useTempDir(prefix = 'devhost-test-'): () => string {
  let dir: string | undefined;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (!dir) throw new Error('The temporary folder exists only inside tests and hooks');
    return dir;
  };
}

/** Writes a host.json into `dir` and returns its path. */
export function writeHostJson(dir: string, hostJson: unknown, name = 'host.json'): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(hostJson));
  return file;
}

/**
 * Starts one devhost for the file's tests (beforeAll) on a free port with its own keys file,
 * and stops it afterwards.
 */
export function useDevhost(options: () => Omit<DevhostOptions, 'log'>): { host: () => Devhost; logs: LogCapture } {
  const logs = new LogCapture();
  let devhost: Devhost | undefined;
  beforeAll(async () => {
    devhost = await startDevhost({ port: 0, ...options(), log: logs.log });
  });
  afterAll(async () => {
    await devhost?.stop();
  });
  return {
    host: () => {
      if (!devhost) throw new Error('The devhost is not started yet');
      return devhost;
    },
    logs,
  };
}

/** True while a process with this id exists. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Resolves once the process has gone, false after `timeoutMs`. Watches /proc through exit, no fixed sleeps on the happy path. */
export async function waitForExit(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!processExists(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !processExists(pid);
}
