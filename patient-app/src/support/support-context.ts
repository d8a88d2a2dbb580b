/**
 * The support API's services, built once per process on first use from patient-app's own
 * (the MongoDB client, settings and paging tokens of the composition root).
 */
import { createSecretSource, type SecretSource } from '@patient-records/platform';

import { services } from '../composition-root';
import { telemetryOutcomeReporter } from '../writes/outcome-reporter';
import { SupportAuditTrail } from './audit-trail';
import { SupportService } from './support-service';

export interface SupportContext {
  support: SupportService;
  secrets: SecretSource;
}

let built: Promise<SupportContext> | undefined;

export function supportContext(): Promise<SupportContext> {
  built ??= (async () => {
    const app = await services();
    const trail = new SupportAuditTrail({
      baseUrl: app.settings.auditApiUrl.toString(),
      functionKey: () => Promise.resolve(app.settings.auditApiKey),
      timeoutMs: app.settings.auditTimeoutMs,
    });
    return {
      support: new SupportService({
        trail,
        restarts: app.restarts,
        patients: app.repository,
        pageTokens: app.pageTokens,
        outcomes: telemetryOutcomeReporter,
      }),
      secrets: createSecretSource(process.env),
    };
  })().catch((error: unknown) => {
    built = undefined;
    throw error;
  });
  return built;
}
