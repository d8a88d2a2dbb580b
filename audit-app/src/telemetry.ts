// Application Insights must start before `mongodb` is loaded, so that its calls are tracked as
// dependencies: the entry point imports this module first, and it imports the telemetry module on
// its own rather than the platform package's index (which loads `mongodb`).
import { app } from '@azure/functions';
import { startTelemetry } from '@patient-records/platform/dist/telemetry';

/** Disabled (nothing loaded or sent) without APPLICATIONINSIGHTS_CONNECTION_STRING. */
const telemetry = startTelemetry({ roleName: 'audit-app' });

app.hook.appTerminate(async () => {
  await telemetry.shutdown();
});
