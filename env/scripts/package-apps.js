#!/usr/bin/env node
// npm run package — one deployable zip per function app in .local/packages/<app>.zip: the
// Functions host.json, the app's package.json and compiled dist/, and node_modules holding
// exactly the app's production dependency closure (workspace packages with their dist/ only).
// Run after `npm run build`. The layout is what WEBSITE_RUN_FROM_PACKAGE mounts as wwwroot.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const yazl = require('yazl');

const repo = path.resolve(__dirname, '..', '..');
// node env/scripts/package-apps.js [--out DIR] [--store] [app...]
//   --out    where the zips go (default .local/packages)
//   --store  no compression (faster; the tests use it)
const args = process.argv.slice(2);
const option = (flag) => {
  const at = args.indexOf(flag);
  return at === -1 ? undefined : args.splice(at, flag === '--store' ? 1 : 2)[1] ?? true;
};
const outDir = path.resolve(String(option('--out') ?? path.join(repo, '.local', 'packages')));
const compress = option('--store') === undefined;
const apps = args.length > 0 ? args : ['patient-app', 'audit-app'];

// Not needed at run time: type declarations, source maps, TypeScript build info, markdown.
const notShipped = /\.(d\.ts|d\.mts|d\.cts|map|tsbuildinfo|md|markdown)$/i;

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Where Node would find `name` from `fromDir` (walking up node_modules folders), or undefined. */
function findPackage(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return fs.realpathSync(candidate);
    if (dir === path.dirname(dir)) return undefined;
  }
}

function isWorkspacePackage(realDir) {
  return !realDir.split(path.sep).includes('node_modules');
}

function filesUnder(dir, filter = () => true) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === '.git' ? [] : filesUnder(full, filter);
    return entry.isFile() && filter(full) ? [full] : [];
  });
}

/** The files a package contributes: all of a third-party package, package.json + dist/ of ours. */
function packageFiles(realDir) {
  if (!isWorkspacePackage(realDir)) {
    return filesUnder(realDir, (f) => !notShipped.test(f) && !path.relative(realDir, f).split(path.sep).includes('node_modules'));
  }
  return [path.join(realDir, 'package.json'), ...filesUnder(path.join(realDir, 'dist'), (f) => !notShipped.test(f))];
}

/**
 * Where a package goes in the zip: the same place it has on disk relative to the repository's
 * node_modules, so Node resolves every require inside the zip to the version npm installed.
 * The app's own node_modules become the zip's node_modules; a workspace package goes to
 * node_modules/<its name>, and its own node_modules under it.
 */
function zipPathFor(realDir, app, workspaces) {
  const relative = path.relative(repo, realDir).split(path.sep).join('/');
  if (relative.startsWith('node_modules/')) return relative;
  const [folder, ...rest] = relative.split('/');
  if (folder === app && rest[0] === 'node_modules') return rest.join('/');
  const workspace = workspaces.get(folder);
  if (workspace === undefined) throw new Error(`cannot place ${relative} in the zip`);
  return rest.length === 0 ? `node_modules/${workspace}` : `node_modules/${workspace}/${rest.join('/')}`;
}

/** Every production dependency reachable from the app (dependencies and installed optional ones). */
function dependencyLayout(appDir, app) {
  const rootManifest = readJson(path.join(repo, 'package.json'));
  const workspaces = new Map(rootManifest.workspaces.map((folder) => [folder, readJson(path.join(repo, folder, 'package.json')).name]));
  const placed = new Map(); // zip path -> real dir
  const queue = [appDir];
  const seen = new Set([appDir]);
  while (queue.length > 0) {
    const realDir = queue.shift();
    const manifest = readJson(path.join(realDir, 'package.json'));
    const names = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})];
    for (const name of names) {
      const dep = findPackage(name, realDir);
      if (dep === undefined) {
        if (manifest.optionalDependencies?.[name] !== undefined) continue;
        throw new Error(`${manifest.name} needs ${name}, which is not installed (run npm install)`);
      }
      if (seen.has(dep)) continue;
      seen.add(dep);
      const target = zipPathFor(dep, app, workspaces);
      if (placed.has(target)) throw new Error(`two packages need ${target} in the zip: ${placed.get(target)} and ${dep}`);
      placed.set(target, dep);
      queue.push(dep);
    }
  }
  return placed;
}

function packageApp(app) {
  const appDir = path.join(repo, app);
  const manifest = readJson(path.join(appDir, 'package.json'));
  // main may be a glob (dist/{index.js,functions/*.js}); the compiled folder must exist.
  if (!fs.existsSync(path.join(appDir, 'dist'))) throw new Error(`${app}: dist/ is missing; run npm run build first`);

  const zip = new yazl.ZipFile();
  const add = (file, zipPath) => zip.addFile(file, zipPath, { mtime: new Date(0), mode: 0o100644, compress });
  add(path.join(repo, 'host.json'), 'host.json');
  add(path.join(appDir, 'package.json'), 'package.json');
  for (const file of filesUnder(path.join(appDir, 'dist'), (f) => !notShipped.test(f))) {
    add(file, path.posix.join('dist', path.relative(path.join(appDir, 'dist'), file).split(path.sep).join('/')));
  }
  let count = 0;
  for (const [zipDir, realDir] of dependencyLayout(appDir, app)) {
    for (const file of packageFiles(realDir)) {
      add(file, path.posix.join(zipDir, path.relative(realDir, file).split(path.sep).join('/')));
    }
    count += 1;
  }

  fs.mkdirSync(outDir, { recursive: true });
  const target = path.join(outDir, `${app}.zip`);
  return new Promise((resolve, reject) => {
    const out = fs.createWriteStream(target);
    out.on('close', () => {
      console.log(`${path.relative(repo, target)}: ${manifest.name}, ${count} packages, ${(fs.statSync(target).size / 1e6).toFixed(1)} MB`);
      resolve(target);
    });
    out.on('error', reject);
    zip.outputStream.pipe(out);
    zip.end();
  });
}

(async () => {
  for (const app of apps) await packageApp(app);
})().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
