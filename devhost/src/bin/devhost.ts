#!/usr/bin/env node
import { parseArgs } from 'node:util';

import { AppStartError, consoleLog, type Devhost, startDevhost, UnsupportedFunctionError } from '../host';
import { startStore, type Store, StoreUnavailableError } from '../store';
import { stopOnSignal } from './signals';

const usage = `Usage: devhost --app <folder> [options]

Runs one Azure Functions app (Node.js programming model v4) locally, the way the Functions host
and its Node worker run it in Azure: the app's package.json "main" is loaded in a worker process,
HTTP triggers are served with their routes and keys, and Durable Functions run on MongoDB.

  --app <folder>        the app package folder (required)
  --port <n>            port to listen on, 127.0.0.1 only (default 7071; 0 picks a free port)
  --key <master key>    master key (default: generated once, kept in .local/keys/<app>.json)
  --mongo-uri <uri>     MongoDB for the Durable task hub (default: MONGODB_URI, else the embedded
                        store, started only when the app has Durable functions)
  --hub <name>          task hub name (default: host.json extensions.durableTask.hubName)
  --host-json <file>    host.json to read (default: the app's own, else the repository's)
  --watch               reload the app when its build output changes (run tsc -w beside it)
  --inspect[=<[host:]port>]
                        start the app's worker with the Node inspector (default 127.0.0.1:9229)
  --inspect-brk[=<[host:]port>]
                        the same, paused on the first line
  --verbose             also print debug logs
  -h, --help            show this help

Keys: "function" level triggers accept any host key or the function's own keys in the
x-functions-key header or the code query parameter; "admin" level needs the master key.
Manage keys with the Azure key admin API and the master key, e.g.
  curl -X PUT -H "x-functions-key: <master>" -H 'content-type: application/json' \\
       -d '{"value":"<new key>"}' http://127.0.0.1:7071/admin/host/keys/<name>

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 the app could not be started, 2 bad usage.`;

class UsageError extends Error {}

/** `--inspect` takes an optional value, which parseArgs cannot express; rewrite it first. */
function normaliseArgv(argv: string[]): string[] {
  return argv.flatMap((arg) => {
    const match = /^--(inspect|inspect-brk)=(.+)$/.exec(arg);
    return match ? [`--${match[1] ?? 'inspect'}`, `--${match[1] ?? 'inspect'}-address`, match[2] ?? ''] : [arg];
  });
}

function parse(
  argv: string[],
): ReturnType<typeof parseArgs<{ options: typeof options; strict: true; allowPositionals: false }>>['values'] {
  try {
    return parseArgs({ args: normaliseArgv(argv), options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

const options = {
  app: { type: 'string' },
  port: { type: 'string' },
  key: { type: 'string' },
  'mongo-uri': { type: 'string' },
  hub: { type: 'string' },
  'host-json': { type: 'string' },
  watch: { type: 'boolean', default: false },
  inspect: { type: 'boolean', default: false },
  'inspect-address': { type: 'string' },
  'inspect-brk': { type: 'boolean', default: false },
  'inspect-brk-address': { type: 'string' },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function main(): Promise<number> {
  const values = parse(process.argv.slice(2));
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!values.app) throw new UsageError('--app <folder> is required');
  const port = values.port === undefined ? 7071 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number, got "${values.port ?? ''}"`);
  const inspectBrk = values['inspect-brk'];
  const inspectAddress = inspectBrk ? values['inspect-brk-address'] : values['inspect-address'];
  const inspect = inspectBrk || values.inspect ? (inspectAddress ?? true) : undefined;

  let store: Store | undefined;
  const log = consoleLog('', values.verbose ? 'debug' : 'information');
  let devhost: Devhost | undefined;
  const stopAll = async (): Promise<void> => {
    await devhost?.stop();
    await store?.stop();
  };
  try {
    devhost = await startDevhost({
      appDir: values.app,
      port,
      masterKey: values.key,
      hubName: values.hub,
      ...(values['host-json'] ? { hostJson: values['host-json'] } : {}),
      mongoUri: values['mongo-uri'] ?? process.env.MONGODB_URI,
      resolveMongoUri: async () => {
        store = await startStore({ mongoUri: undefined, log: (line) => console.error(line) });
        log({
          level: 'information',
          message: `Started the embedded store at ${store.uri} (data in ${store.dataDir ?? ''})`,
        });
        return store.uri;
      },
      watch: values.watch,
      inspect,
      inspectBrk,
      log,
    });
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
  // Before the banner: whoever waits for it (a person, a script, a test) may signal at once.
  stopOnSignal(stopAll);
  const keys = devhost.keys();
  console.log(
    `\nFunctions app running at ${devhost.url}  (host state ${devhost.state()}, worker pid ${devhost.workerPid() ?? '?'})`,
  );
  console.log(`  master key:        ${keys.masterKey}`);
  console.log(`  host key default:  ${keys.hostKeys.default ?? ''}`);
  console.log(`  status:            curl ${devhost.url}/admin/host/status`);
  console.log('Ctrl-C stops it.\n');
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`devhost: ${error.message}\nRun devhost --help for the options.`);
      process.exit(2);
    }
    const known =
      error instanceof UnsupportedFunctionError ||
      error instanceof AppStartError ||
      error instanceof StoreUnavailableError;
    console.error(known ? (error as Error).message : error);
    process.exit(1);
  },
);
