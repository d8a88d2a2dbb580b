import type { WriteOutcomeReporter } from '@patient-records/orchestrations';
import { trackWriteOutcome } from '@patient-records/platform';

import { telemetry } from '../telemetry';

/** Write outcome events go to Application Insights (docs/telemetry.md), only with telemetry on. */
export const telemetryOutcomeReporter: WriteOutcomeReporter = {
  get enabled() {
    return telemetry.enabled;
  },
  report: (event) => trackWriteOutcome(event),
};
