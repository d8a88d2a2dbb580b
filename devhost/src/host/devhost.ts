import { existsSync, readFileSync, realpathSync, watch as watchFiles } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { MongoClient } from 'mongodb';

import type { DurableEngine } from '../durable/contract';
import { createDurableEngine } from '../durable/engine';
import { localDir, repositoryRoot } from '../paths';
import { readHostSettings, readLocalSettings } from './config';
import { durableClientBindingValue } from './durable-client';
import { createRequestHandler, createRpcHandler, type HttpHostContext } from './http-server';
import { WorkerFunctionInvoker } from './invoker';
import { type KeysFile, KeyStore } from './keys';
import { consoleLog, type DevhostLog } from './log';
import type { InvocationInput } from './protocol';
import type { AppFunctions } from './registrations';
import { AppRuntime, type HostState } from './runtime';

export interface DevhostOptions {
  /** The app package folder (its package.json `main` names the entry point). */
  appDir: string;
  /** TCP port for the app; 0 picks a free one. Default 7071. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** MongoDB for the Durable task hub. Needed only when the app has Durable functions. Default: MONGODB_URI. */
  mongoUri?: string | undefined;
  /** Called for a MongoDB URI when the app needs one and `mongoUri` is unset (the CLI starts the embedded store). */
  resolveMongoUri?: () => Promise<string>;
  /** Database for the task hub. Default `devhost_<app folder name>`. */
  databaseName?: string;
  /** Task hub name. Default: host.json `extensions.durableTask.hubName`, else `TestHubName`. */
  hubName?: string | undefined;
  /** Master key to use instead of the stored one. */
  masterKey?: string | undefined;
  /** Where keys are kept. Default `.local/keys/<app folder name>.json`. */
  keysFile?: string;
  /** host.json to read. Default: the app's own, else the repository's. */
  hostJson?: string;
  /** Reload the worker when the app's build output, or that of a workspace package it uses, changes. */
  watch?: boolean;
  /** App settings, applied over local.settings.json and the environment. */
  env?: Record<string, string>;
  /** Named host keys to create or set at start (e.g. the stack's API keys). */
  hostKeys?: Record<string, string>;
  /** `--inspect` for the worker: true for the default port, or `[host:]port`. */
  inspect?: string | boolean;
  inspectBrk?: boolean;
  log?: DevhostLog;
}

/** A running devhost. Stable API: other packages' end-to-end tests depend on it. */
export interface Devhost {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly masterKey: string;
  readonly hubName: string;
  /** Every key (master, host, system, per function), as stored now. */
  keys(): KeysFile;
  /** The app's registered functions by kind (after the latest load). */
  functions(): {
    http: { name: string; route: string; methods: string[] | undefined; authLevel: string }[];
    orchestrators: string[];
    activities: string[];
  };
  state(): HostState;
  /** The app worker's process id, when one is running. */
  workerPid(): number | undefined;
  /** Restarts the worker (the app is loaded again); resolves when it is running or failed. */
  reload(): Promise<void>;
  /** Stops everything it started: listeners, the Durable engine, the worker. Idempotent. */
  stop(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => {
      resolve();
    });
    server.closeIdleConnections();
    // Requests still running get a moment to finish; then their connections go too.
    setTimeout(() => server.closeAllConnections(), 2000).unref();
  });
}

function appNameOf(appDir: string): string {
  return path.basename(appDir).replace(/[^A-Za-z0-9_-]/g, '_');
}

/** The folder to watch: the fixed part of the `main` pattern (`dist` for `dist/src/functions/*.js`). */
function buildOutputDir(appDir: string): string {
  const manifest = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8')) as { main?: unknown };
  const main = typeof manifest.main === 'string' ? manifest.main : '.';
  const fixed: string[] = [];
  for (const segment of main.split('/')) {
    if (/[*?{}[\]!]/.test(segment)) break;
    fixed.push(segment);
  }
  let dir = path.resolve(appDir, ...fixed);
  if (!existsSync(dir) || !/[*?{}[\]!]/.test(main)) dir = path.dirname(dir);
  return dir;
}

/**
 * The folders `--watch` watches: the app's build output, and that of every package of this
 * repository it depends on (workspace packages are symlinks, not copies under node_modules), since
 * `tsc -b` may rebuild a dependency without re-emitting the app.
 */
function watchedDirs(appDir: string): string[] {
  const dirs = [buildOutputDir(appDir)];
  const manifest = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const resolveFromApp = createRequire(path.join(appDir, 'package.json'));
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    let packageDir: string;
    try {
      packageDir = path.dirname(realpathSync(resolveFromApp.resolve(`${name}/package.json`)));
    } catch {
      continue; // Not resolvable (or hides its package.json behind an exports map): an installed package.
    }
    if (packageDir.split(path.sep).includes('node_modules')) continue;
    const dir = buildOutputDir(packageDir);
    if (existsSync(dir) && !dirs.includes(dir)) dirs.push(dir);
  }
  return dirs;
}

/**
 * Starts a local Functions host for one app: the app in its own worker process, its HTTP triggers
 * with Azure's routing and keys, and (when the app has Durable functions) the Durable engine over
 * MongoDB with its management API. Resolves once every function is registered and the host is
 * Running; rejects, with nothing left running, when the app cannot be served.
 */
export async function startDevhost(options: DevhostOptions): Promise<Devhost> {
  const appDir = path.resolve(options.appDir);
  if (!existsSync(path.join(appDir, 'package.json')))
    throw new Error(`No package.json in ${appDir}: --app must name a Functions app package folder`);
  const appName = appNameOf(appDir);
  const log = options.log ?? consoleLog();
  let repoHostJson: string | undefined;
  try {
    repoHostJson = path.join(repositoryRoot(appDir), 'host.json');
  } catch {
    repoHostJson = undefined;
  }
  const settings = readHostSettings(appDir, options.hostJson, repoHostJson);
  const hubName = options.hubName ?? settings.hubName ?? 'TestHubName';
  const keys = new KeyStore(options.keysFile ?? localDir('keys', `${appName}.json`), options.masterKey);
  for (const [name, value] of Object.entries(options.hostKeys ?? {})) keys.set({ kind: 'host' }, name, value);
  const host = options.host ?? '127.0.0.1';
  const startedAt = Date.now();

  let engine: DurableEngine | undefined;
  /** Set when an engine was created and not started yet (it starts once the worker is running). */
  let engineStarting = false;
  let mongo: MongoClient | undefined;
  let port = 0;
  let rpcPort = 0;
  const publicHost = (): string => `${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  const webhookBaseUrl = (): string => `http://${publicHost()}/runtime/webhooks/durabletask`;
  const durableClientInput = (bindingName: string): InvocationInput => ({
    name: bindingName,
    data: {
      string: JSON.stringify(
        durableClientBindingValue({
          hubName,
          webhookBaseUrl: webhookBaseUrl(),
          rpcBaseUrl: `http://127.0.0.1:${rpcPort}/durabletask/`,
          systemKey: keys.systemKey,
        }),
      ),
    },
  });

  const workerEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    // Core Tools semantics: local.settings.json does not override a variable already set.
    for (const [name, value] of Object.entries(readLocalSettings(appDir))) {
      if (env[name] === undefined) env[name] = value;
    }
    Object.assign(env, options.env);
    const noProxy = new Set((env.NO_PROXY ?? env.no_proxy ?? '').split(',').filter(Boolean));
    noProxy.add('127.0.0.1');
    noProxy.add('localhost');
    return {
      ...env,
      // What the Functions host tells its worker; WEBSITE_HOSTNAME also decides the DurableClient's links.
      FUNCTIONS_WORKER_RUNTIME: 'node',
      AzureWebJobsScriptRoot: appDir,
      AZURE_FUNCTIONS_ENVIRONMENT: env.AZURE_FUNCTIONS_ENVIRONMENT ?? 'Development',
      WEBSITE_HOSTNAME: publicHost(),
      NO_PROXY: [...noProxy].join(','),
      no_proxy: [...noProxy].join(','),
    };
  };

  const runtime: AppRuntime = new AppRuntime({
    appDir,
    settings,
    env: workerEnv,
    inspect: options.inspect,
    inspectBrk: options.inspectBrk,
    log,
    onFunctions: async (functions: AppFunctions) => {
      keys.ensureFunctionKeys(functions.http.filter((fn) => fn.authLevel === 'function').map((fn) => fn.name));
      const needsEngine =
        functions.orchestrators.length > 0 ||
        functions.activities.length > 0 ||
        functions.durableClientBindings.size > 0;
      if (needsEngine && !engine) {
        const mongoUri = options.mongoUri ?? process.env.MONGODB_URI ?? (await options.resolveMongoUri?.());
        if (!mongoUri)
          throw new Error(
            'This app has Durable functions: the devhost needs a MongoDB (mongoUri / --mongo-uri / MONGODB_URI)',
          );
        mongo = await MongoClient.connect(mongoUri);
        engine = createDurableEngine({
          db: mongo.db(options.databaseName ?? `devhost_${appName}`),
          hubName,
          invoker,
          maxConcurrentActivityFunctions: settings.maxConcurrentActivityFunctions,
          maxConcurrentOrchestratorFunctions: settings.maxConcurrentOrchestratorFunctions,
          log: (level, message, fields) => {
            log({
              level: level === 'info' ? 'information' : level === 'warn' ? 'warning' : level,
              message: fields ? `${message} ${JSON.stringify(fields)}` : message,
            });
          },
        });
        engineStarting = true;
      }
    },
  });
  const invoker = new WorkerFunctionInvoker(runtime, durableClientInput);

  const context: HttpHostContext = {
    appName,
    hubName,
    runtime,
    keys,
    engine: () => engine,
    durableClientInput,
    webhookBaseUrl,
    log,
    startedAt,
  };
  const server = createServer(createRequestHandler(context));
  const rpcServer = createServer(createRpcHandler(context));
  server.keepAliveTimeout = 5000;
  const watchers: ReturnType<typeof watchFiles>[] = [];
  /** Starts the engine once the worker it calls is running (the first start, or a reload that added Durable functions). */
  const startNewEngine = async (): Promise<void> => {
    if (engine && engineStarting) {
      engineStarting = false;
      await engine.start();
    }
  };
  let stopped: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      for (const watcher of watchers) watcher.close();
      await closeServer(server);
      await engine?.stop();
      await closeServer(rpcServer);
      await runtime.stop();
      await mongo?.close();
      log({ level: 'information', message: `Stopped the devhost for ${appName}` });
    })();
    return stopped;
  };

  try {
    port = await listen(server, options.port ?? 7071, host);
    rpcPort = await listen(rpcServer, 0, '127.0.0.1');
    await runtime.start();
    await startNewEngine();
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }

  const reload = async (): Promise<void> => {
    await runtime.reload('reload requested');
    await startNewEngine();
  };

  if (options.watch) {
    let debounce: NodeJS.Timeout | undefined;
    for (const outputDir of watchedDirs(appDir)) {
      const watcher = watchFiles(outputDir, { recursive: true }, (_event, file) => {
        if (file && /(^|[\\/])node_modules([\\/]|$)/.test(file)) return;
        clearTimeout(debounce);
        // tsc -w writes many files in a burst: reload once, after it has settled.
        debounce = setTimeout(() => {
          log({ level: 'information', message: `Change detected in ${outputDir}: reloading the app` });
          reload().catch((error: unknown) => {
            log({ level: 'error', message: `Reload failed: ${(error as Error).message}` });
          });
        }, 300);
      });
      watcher.on('error', (error) => {
        log({ level: 'warning', message: `Watching ${outputDir} failed: ${error.message}` });
      });
      watchers.push(watcher);
      log({ level: 'information', message: `Watching ${outputDir} for changes` });
    }
  }

  const url = `http://${publicHost()}`;
  log({
    level: 'information',
    message: `${appName} is running at ${url} (host.json: ${settings.file ?? 'defaults'}, routePrefix "${settings.routePrefix}")`,
  });
  for (const fn of runtime.functions?.http ?? []) {
    log({
      level: 'information',
      message: `  ${fn.name}: [${fn.methods?.join(',') ?? 'ALL'}] ${url}/${fn.route.template} (${fn.authLevel})`,
    });
  }

  return {
    url,
    port,
    get masterKey() {
      return keys.masterKey;
    },
    hubName,
    keys: () => keys.snapshot(),
    functions: () => {
      const functions = runtime.functions;
      return {
        http: (functions?.http ?? []).map((fn) => ({
          name: fn.name,
          route: fn.route.template,
          methods: fn.methods,
          authLevel: fn.authLevel,
        })),
        orchestrators: [...(functions?.orchestrators ?? [])],
        activities: [...(functions?.activities ?? [])],
      };
    },
    state: () => runtime.state,
    workerPid: () => runtime.workerPid,
    reload,
    stop,
  };
}
