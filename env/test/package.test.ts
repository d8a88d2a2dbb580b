/**
 * `npm run package` (env/scripts/package-apps.js): each app's zip holds its host.json, compiled
 * code and production dependencies, laid out so that every require resolves inside the zip.
 * The zips are made uncompressed into a temporary folder (the layout is the same).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';

import { repoRoot } from './terraform';
import { readZip, type ZipEntry } from './zip';

const apps = ['patient-app', 'audit-app'] as const;
let outDir: string;
const zips = new Map<string, Map<string, ZipEntry>>();

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'package-apps-'));
  execFileSync(process.execPath, [join(repoRoot, 'env', 'scripts', 'package-apps.js'), '--store', '--out', outDir], {
    stdio: 'pipe',
    timeout: 170_000,
  });
  for (const app of apps) zips.set(app, readZip(join(outDir, `${app}.zip`)));
}, 180_000);

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

function jsFilesOnDisk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return jsFilesOnDisk(join(dir, entry.name), `${prefix}${entry.name}/`);
    return entry.name.endsWith('.js') ? [`${prefix}${entry.name}`] : [];
  });
}

/** Where Node would find package `name` from a file in folder `fromDir` of the zip. */
function resolvePackage(entries: Map<string, ZipEntry>, fromDir: string, name: string): string | undefined {
  for (let dir = fromDir; ; dir = posix.dirname(dir)) {
    const base = dir === '.' || dir === '' ? '' : `${dir}/`;
    const candidate = `${base}node_modules/${name}/package.json`;
    if (entries.has(candidate)) return candidate;
    if (base === '') return undefined;
  }
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const builtins = new Set(builtinModules);

describe.each(apps)('%s.zip', (app) => {
  it('holds host.json, package.json and every compiled file, and no development tools', () => {
    const entries = zips.get(app)!;
    expect(entries.has('host.json')).toBe(true);
    expect(JSON.parse(entries.get('package.json')!.read().toString('utf8')).name).toBe(`@patient-records/${app}`);
    const compiled = jsFilesOnDisk(join(repoRoot, app, 'dist')).map((file) => `dist/${file}`);
    expect(compiled).toContain('dist/index.js');
    for (const file of compiled) expect([file, entries.has(file)]).toEqual([file, true]);
    for (const tool of [
      'typescript',
      'jest',
      'ts-jest',
      'eslint',
      '@cdktf/hcl2json',
      'yazl',
      'playwright-core',
      '@patient-records/devhost',
    ]) {
      expect([tool, entries.has(`node_modules/${tool}/package.json`)]).toEqual([tool, false]);
    }
  });

  it('resolves every require of its own and its workspace packages code inside the zip', () => {
    const entries = zips.get(app)!;
    const code = [...entries.keys()].filter(
      (name) =>
        name.endsWith('.js') &&
        (name.startsWith('dist/') || /^node_modules\/@patient-records\/[^/]+\/dist\//.test(name)),
    );
    expect(code.length).toBeGreaterThan(0);
    for (const file of code) {
      const text = entries.get(file)!.read().toString('utf8');
      for (const [, specifier] of text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) {
        const spec = specifier!;
        if (spec.startsWith('node:') || builtins.has(spec)) continue;
        if (spec.startsWith('.')) {
          const target = posix.normalize(posix.join(posix.dirname(file), spec));
          const found = [target, `${target}.js`, `${target}/index.js`, `${target}.json`].some((candidate) =>
            entries.has(candidate),
          );
          expect([file, spec, found]).toEqual([file, spec, true]);
        } else {
          expect([file, spec, resolvePackage(entries, posix.dirname(file), packageName(spec)) !== undefined]).toEqual([
            file,
            spec,
            true,
          ]);
        }
      }
    }
  });

  it('holds every dependency of every package it contains', () => {
    const entries = zips.get(app)!;
    const manifests = [...entries.keys()].filter(
      (name) => name === 'package.json' || /(^|\/)node_modules\/(@[^/]+\/)?[^/@]+\/package\.json$/.test(name),
    );
    expect(manifests.length).toBeGreaterThan(10);
    for (const manifestPath of manifests) {
      const manifest = JSON.parse(entries.get(manifestPath)!.read().toString('utf8')) as {
        dependencies?: Record<string, string>;
      };
      const dir = posix.dirname(manifestPath);
      for (const dependency of Object.keys(manifest.dependencies ?? {})) {
        expect([
          manifestPath,
          dependency,
          resolvePackage(entries, dir === '.' ? '' : dir, dependency) !== undefined,
        ]).toEqual([manifestPath, dependency, true]);
      }
    }
  });
});
