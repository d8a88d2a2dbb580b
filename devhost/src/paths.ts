import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The repository root: the nearest folder above this package that holds the npm workspaces
 * root `package.json`. Local state (`.local/`) lives there so that every package shares it.
 */
export function repositoryRoot(start: string = __dirname): string {
  let dir = path.resolve(start);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown };
      if (Array.isArray(parsed.workspaces)) return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No npm workspaces root found above ${start}`);
    dir = parent;
  }
}

/**
 * The git-ignored folder for local state: built tools, store data, generated keys.
 * `PATIENT_RECORDS_LOCAL_DIR` moves it (tests use that to simulate a machine without tools).
 */
export function localDir(...segments: string[]): string {
  const base = process.env.PATIENT_RECORDS_LOCAL_DIR ?? path.join(repositoryRoot(), '.local');
  return path.join(base, ...segments);
}
