#!/usr/bin/env node
import { startStore, StoreUnavailableError } from '../store';
import { stopOnSignal } from './signals';

/**
 * `npm start`: the local stack. Today that is the embedded store only; the apps and the local
 * Functions host arrive with their issues, and this says so rather than pretending.
 */
async function main(): Promise<void> {
  const store = await startStore();
  console.log(`Store:        ${store.uri} (${store.kind === 'ferretdb' ? `FerretDB, data in ${store.dataDir ?? ''}` : 'MONGODB_URI'})`);
  console.log('patient-app:  not available yet (the local Functions host and the apps are still being built)');
  console.log('audit-app:    not available yet');
  console.log('Ctrl-C stops everything.');
  stopOnSignal(() => store.stop());
}

main().catch((error: unknown) => {
  console.error(error instanceof StoreUnavailableError ? error.message : error);
  process.exit(1);
});
