/**
 * A Durable engine in its own process, for the crash test: loads the crash fixture app with the
 * real durable-functions library, serves the management API on a loopback port, prints
 * `READY <origin>`, and runs until killed.
 */
import { MongoClient } from 'mongodb';

import { createDurableEngine } from '../../src/durable/engine';
import { installFunctionsCore } from './functions-core';
import { createInProcessInvoker } from './in-process-invoker';
import { serveManagementApi } from './management-server';

async function main(): Promise<void> {
  installFunctionsCore();
  // The app is loaded once the core module is answerable, as the worker does.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('../fixtures/crash-app');
  const client = await MongoClient.connect(process.env.CRASH_MONGO_URI ?? '');
  const engine = createDurableEngine({
    db: client.db(process.env.CRASH_DB_NAME),
    hubName: 'CrashHub',
    invoker: createInProcessInvoker(),
    maxConcurrentOrchestratorFunctions: 4,
    maxConcurrentActivityFunctions: 4,
    log: (level, message) => {
      if (level === 'error') process.stderr.write(`${message}\n`);
    },
  });
  await engine.start();
  const server = await serveManagementApi(engine);
  process.stdout.write(`READY ${server.origin}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
