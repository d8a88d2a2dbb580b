// The Functions entry point (package.json `main`): telemetry first, then importing a function's
// module registers it.
import './telemetry';
import './functions/createAuditRecord';
import './functions/getAuditRecord';
import './functions/health';
import './functions/listAuditRecords';

import { app } from '@azure/functions';

import { appServices, closeAppServices } from './composition';

// Settings are read and checked before the first invocation: a missing or invalid one stops the
// app at start with a message naming it. The MongoDB client is closed when the worker stops.
app.hook.appStart(async () => {
  await appServices();
});
app.hook.appTerminate(async () => {
  await closeAppServices();
});

export { appSettingNames } from './settings';
