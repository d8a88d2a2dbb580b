// The replay engine's own entry point, which df.app.orchestration wraps every orchestrator with.
// Not in durable-functions' public types; the replayer uses it to run orchestrators exactly as the
// registered function would.
declare module 'durable-functions/lib/src/util/testingUtils' {
  import type { InvocationContext } from '@azure/functions';
  import type { OrchestrationHandler } from 'durable-functions';

  export function createOrchestrator(
    fn: OrchestrationHandler,
  ): (trigger: unknown, context: InvocationContext) => Promise<unknown>;
}
