#!/usr/bin/env node
// `npm run loadtest`: installs the pinned Locust (loadtest/install.sh), starts the local stack when
// no --host is given and it is not already running, runs Locust headless for a bounded time, writes
// the HTML report and CSVs to loadtest/results/, stops what it started and exits with Locust's code
// (which the locustfile's thresholds decide). See loadtest/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const usage = `Usage: npm run loadtest -- [options] [-- extra locust arguments]
  --host URL              a deployed system (APIM gateway origin); default: the local stack
  --subscription-key KEY  APIM subscription key (or LOADTEST_SUBSCRIPTION_KEY)
  --users N               simulated users (default 8)
  --spawn-rate N          users started per second (default 4)
  --run-time T            how long to run, Locust syntax: 30s, 5m (default 30s)
  --p95-ms N              fail when the 95th percentile exceeds N ms (default 3000, or LOADTEST_P95_MS)
  --results DIR           where the report and CSVs go (default loadtest/results)`;

function parseArgs(argv) {
  const options = { users: '8', spawnRate: '4', runTime: '30s', results: path.join(root, 'loadtest', 'results'), extra: [] };
  const names = { '--host': 'host', '--subscription-key': 'subscriptionKey', '--users': 'users', '--spawn-rate': 'spawnRate', '--run-time': 'runTime', '--p95-ms': 'p95Ms', '--results': 'results' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      options.extra = argv.slice(i + 1);
      break;
    }
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      process.exit(0);
    }
    const [flag, inline] = arg.split(/=(.*)/s, 2);
    const name = names[flag];
    const value = inline ?? argv[++i];
    if (!name || value === undefined) {
      console.error(`loadtest: unknown or incomplete option ${arg}\n${usage}`);
      process.exit(2);
    }
    options[name] = value;
  }
  return options;
}

/** The stack this run started, stopped on every way out. */
let started;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function healthy(url) {
  try {
    const response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** The consumer key the local stack gives patient-app (as devhost/src/bin/stack.ts keeps it). */
function localKey() {
  if (process.env.LOCAL_PATIENT_API_KEY) return process.env.LOCAL_PATIENT_API_KEY;
  const file = path.join(root, '.local', 'stack-secrets.json');
  if (!existsSync(file)) throw new Error(`loadtest: ${file} is missing; the local stack writes it when it starts`);
  return JSON.parse(readFileSync(file, 'utf8')).patientApiKey;
}

/** Starts `node devhost/dist/bin/stack.js` and waits (bounded) until patient-app answers health. */
async function startStack(url) {
  if (!existsSync(path.join(root, 'devhost', 'dist', 'bin', 'stack.js')) || !existsSync(path.join(root, 'patient-app', 'dist'))) {
    console.log('loadtest: building the apps (npm run build)');
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('loadtest: npm run build failed');
  }
  console.log('loadtest: starting the local stack (its output goes to loadtest/results/stack.log)');
  const log = openSync(path.join(root, 'loadtest', 'results', 'stack.log'), 'w');
  const child = spawn(process.execPath, [path.join(root, 'devhost', 'dist', 'bin', 'stack.js')], { cwd: root, stdio: ['ignore', log, log] });
  started = child;
  let exited = false;
  child.on('exit', () => (exited = true));
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline && !exited) {
    if (await healthy(url)) return child;
    await sleep(500);
  }
  await stopChild(child);
  throw new Error(`loadtest: the local stack did not come up at ${url} (see loadtest/results/stack.log)`);
}

/** SIGTERM (the stack stops its hosts and store on it), then SIGKILL after 30 s. */
async function stopChild(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  // Until Locust runs, a signal stops the stack this run started and ends the run.
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void stopChild(started).then(() => process.exit(130)));
  const install = spawnSync('bash', [path.join(root, 'loadtest', 'install.sh')], { cwd: root, stdio: 'inherit' });
  if (install.status !== 0) throw new Error('loadtest: installing Locust failed');
  mkdirSync(options.results, { recursive: true });

  const env = { ...process.env };
  let host = options.host;
  if (host) {
    if (options.subscriptionKey) env.LOADTEST_SUBSCRIPTION_KEY = options.subscriptionKey;
    if (!env.LOADTEST_SUBSCRIPTION_KEY) console.warn('loadtest: no subscription key given; APIM will answer 401');
  } else {
    host = `http://127.0.0.1:${process.env.PATIENT_APP_PORT || '7071'}`;
    if (await healthy(host)) console.log(`loadtest: using the stack already running at ${host}`);
    else await startStack(host);
    env.LOADTEST_FUNCTION_KEY = env.LOADTEST_FUNCTION_KEY || localKey();
  }
  if (options.p95Ms) env.LOADTEST_P95_MS = options.p95Ms;

  const prefix = path.join(options.results, 'loadtest');
  const args = ['-f', path.join(root, 'loadtest', 'locustfile.py'), '--headless', '--host', host,
    '-u', options.users, '-r', options.spawnRate, '-t', options.runTime, '--stop-timeout', '10',
    '--html', `${prefix}.html`, '--csv', prefix, '--only-summary', ...options.extra];
  const locustBin = path.join(process.env.LOCUST_VENV || path.join(root, '.venv', 'locust'), 'bin', 'locust');
  console.log(`loadtest: locust against ${host} for ${options.runTime} with ${options.users} users`);
  const locust = spawn(locustBin, args, { cwd: root, env, stdio: 'inherit' });

  let stopping = false;
  const onSignal = (signal) => {
    if (stopping) return;
    stopping = true;
    locust.kill(signal);
  };
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await new Promise((resolve) => locust.on('exit', (exitCode) => resolve(exitCode ?? 1)));
  if (started) {
    console.log('loadtest: stopping the local stack');
    await stopChild(started);
  }
  console.log(`loadtest: report ${path.relative(root, prefix)}.html, CSVs ${path.relative(root, prefix)}_*.csv; exit code ${code}`);
  process.exit(code);
}

main().catch(async (error) => {
  console.error(error instanceof Error ? error.message : error);
  await stopChild(started);
  process.exit(1);
});
