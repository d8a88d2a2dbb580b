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
const outDir = path.join(repo, '.local', 'packages');
const apps = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['patient-app', 'audit-app'];

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
  if (!isWorkspacePackage(realDir)) return filesUnder(realDir, (f) => !path.relative(realDir, f).split(path.sep).includes('node_modules'));
  return [path.join(realDir, 'package.json'), ...filesUnder(path.join(realDir, 'dist'), (f) => !f.endsWith('.tsbuildinfo'))];
}

/**
 * Places every production dependency reachable from the app: at node_modules/<name> when that
 * slot is free or holds the same package, else nested under the package that needs it, so
 * Node's resolution inside the zip finds the version the dependent found on disk.
 */
/** The package folder that contains `zipDir` ("" at the top). */
function enclosing(zipDir) {
  const at = zipDir.lastIndexOf('/node_modules/');
  return at === -1 ? '' : zipDir.slice(0, at);
}

function dependencyLayout(appDir) {
  const placed = new Map(); // zip path -> real dir
  const queue = [{ realDir: appDir, zipDir: '' }];
  const seen = new Set();
  while (queue.length > 0) {
    const { realDir, zipDir } = queue.shift();
    const key = `${realDir}|${zipDir}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const manifest = readJson(path.join(realDir, 'package.json'));
    const names = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})];
    for (const name of names) {
      const dep = findPackage(name, realDir);
      if (dep === undefined) {
        if (manifest.optionalDependencies?.[name] !== undefined) continue;
        throw new Error(`${manifest.name} needs ${name}, which is not installed (run npm install)`);
      }
      // Node looks in <zipDir>/node_modules, then each enclosing node_modules, then the top.
      const lookups = [];
      for (let dir = zipDir; dir !== ''; dir = enclosing(dir)) lookups.push(path.posix.join(dir, 'node_modules', name));
      lookups.push(path.posix.join('node_modules', name));
      const found = lookups.find((candidate) => placed.has(candidate));
      if (found !== undefined && placed.get(found) === dep) continue;
      const top = path.posix.join('node_modules', name);
      const target = found === undefined ? top : path.posix.join(zipDir, 'node_modules', name);
      if (placed.has(target)) throw new Error(`two versions of ${name} need the same place in the zip`);
      placed.set(target, dep);
      queue.push({ realDir: dep, zipDir: target });
    }
  }
  return placed;
}

function packageApp(app) {
  const appDir = path.join(repo, app);
  const manifest = readJson(path.join(appDir, 'package.json'));
  const main = path.join(appDir, manifest.main ?? 'dist/index.js');
  if (!fs.existsSync(main)) throw new Error(`${app}: ${path.relative(repo, main)} is missing; run npm run build first`);

  const zip = new yazl.ZipFile();
  const add = (file, zipPath) => zip.addFile(file, zipPath, { mtime: new Date(0), mode: 0o100644 });
  add(path.join(repo, 'host.json'), 'host.json');
  add(path.join(appDir, 'package.json'), 'package.json');
  for (const file of filesUnder(path.join(appDir, 'dist'), (f) => !f.endsWith('.tsbuildinfo'))) {
    add(file, path.posix.join('dist', path.relative(path.join(appDir, 'dist'), file).split(path.sep).join('/')));
  }
  let count = 0;
  for (const [zipDir, realDir] of dependencyLayout(appDir)) {
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
