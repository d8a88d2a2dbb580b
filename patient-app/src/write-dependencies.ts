import type { WriteDependencies } from '@patient-records/orchestrations';

import type { PatientAppServices } from './composition-root';
import { telemetryOutcomeReporter } from './writes/outcome-reporter';

/**
 * The ports the write activities use, resolved from the app's services on first use. Registration
 * happens synchronously when the app loads, before the services (which read settings, possibly
 * from Key Vault) exist; each port method waits for them and delegates. Write outcomes go to
 * Application Insights (docs/telemetry.md), only with telemetry on.
 */
export function deferredWriteDependencies(services: () => Promise<PatientAppServices>): WriteDependencies {
  return {
    store: {
      createPatient: async (command) => (await services()).repository.createPatient(command),
      updatePatient: async (command) => (await services()).repository.updatePatient(command),
      deletePatient: async (command) => (await services()).repository.deletePatient(command),
      createTestResult: async (command) => (await services()).repository.createTestResult(command),
      undo: async (command) => (await services()).repository.undo(command),
    },
    audit: { record: async (entry) => (await services()).audit.record(entry) },
    cipher: { open: async (payload) => (await services()).cipher.open(payload) },
    outcomes: telemetryOutcomeReporter,
  };
}
