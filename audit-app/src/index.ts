// The Functions entry point (package.json `main`): importing a function's module registers it.
// Settings are read and checked here, at load, so a missing one shows at start, named, in the log.
import './functions/createAuditRecord';
import './functions/getAuditRecord';
import './functions/health';
import './functions/listAuditRecords';

import { appServices } from './composition';

appServices().catch((error: unknown) => {
  console.error(`audit-app cannot start: ${error instanceof Error ? error.message : String(error)}`);
});

export { appSettingNames } from './settings';
