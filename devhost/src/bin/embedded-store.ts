#!/usr/bin/env node
import { parseArgs } from 'node:util';

import { ensureFerretDb, startStore, StoreUnavailableError } from '../store';
import { stopOnSignal } from './signals';

const usage = `Usage: embedded-store [--data-dir DIR] [--build-only]

Starts the project's MongoDB wire-protocol store and prints its connection string.
Uses MONGODB_URI when it is set; otherwise runs FerretDB (SQLite backend) on a free
loopback port, building it with Go into .local/bin the first time. Ctrl-C stops it.

  --data-dir DIR   where FerretDB keeps its data (default: .local/data)
  --build-only     build FerretDB if needed, print its path, and exit
  -h, --help       show this help`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      'build-only': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  if (values['build-only']) {
    console.log(await ensureFerretDb());
    return;
  }
  const store = await startStore(values['data-dir'] ? { dataDir: values['data-dir'] } : {});
  // Before printing the URI: whoever waits for it may signal at once.
  stopOnSignal(() => store.stop());
  console.log(`MONGODB_URI=${store.uri}`);
  console.error(store.kind === 'ferretdb' ? `FerretDB data: ${store.dataDir ?? ''}. Ctrl-C stops it.` : 'Using MONGODB_URI.');
}

main().catch((error: unknown) => {
  console.error(error instanceof StoreUnavailableError ? error.message : error);
  process.exit(1);
});
