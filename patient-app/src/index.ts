/**
 * patient-app's entry point (package.json `main` loads it with `functions/*.js`): registers the
 * write orchestrations with ports backed by the composition root, builds the services at start
 * (a missing setting stops the app with its name), and closes them when the host stops.
 */
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
