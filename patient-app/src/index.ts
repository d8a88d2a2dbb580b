/**
 * patient-app's entry point (package.json `main`): starts telemetry before anything loads
 * `mongodb` or `node:http`, registers every HTTP function (importing its module registers it) and
 * the write orchestrations with ports backed by the composition root, builds the services at start
 * (a missing setting stops the app with its name), and closes them when the host stops.
 *
 * `main` names this one file rather than a glob over `functions/`: hosts load glob matches in no
 * guaranteed order (the devhost sorts them, which puts `functions/` first), and telemetry must start
 * before the first function module loads the MongoDB driver.
 */
import './telemetry';
import './functions/createPatient';
import './functions/createTestResult';
import './functions/deletePatient';
import './functions/getOperation';
import './functions/getPatient';
import './functions/getTestResult';
import './functions/health';
import './functions/listTestResults';
import './functions/searchPatients';
import './functions/updatePatient';
import './support/functions';

import { app } from '@azure/functions';
import { register } from '@patient-records/orchestrations';

import { closeServices, services } from './composition-root';
import { deferredWriteDependencies } from './write-dependencies';

register(deferredWriteDependencies(services));

app.hook.appStart(async () => {
  await services();
});

app.hook.appTerminate(async () => {
  await closeServices();
});

export { appSettingNames } from './settings';
