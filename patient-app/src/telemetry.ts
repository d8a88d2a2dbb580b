// Application Insights must start before `mongodb` and `node:http` load, so that their calls are
// tracked as dependencies: the entry point imports this module first, and it imports the platform's
// telemetry entry on its own (the platform index loads `mongodb`).
import { app, type FunctionHandler, type HttpRequest, type InvocationContext } from '@azure/functions';
import { isTraceCarrier, startTelemetry, traceActivity, traceHttpRequest } from '@patient-records/platform/dist/telemetry';

const ROUTE_PREFIX = 'api';

/**
 * Every invocation becomes a span, in one place rather than in each handler:
 * - an HTTP trigger is a request named `METHOD /api/<route template>`, under the caller's trace
 *   context (APIM's `traceparent`), so everything the handler does — the orchestration start
 *   included, which copies the context into the input — belongs to the caller's operation;
 * - an activity is a request `Activity <name>` under the trace carrier its input holds (the
 *   orchestration passes the starter's context to every activity), so the audit call and the
 *   MongoDB calls it makes join that operation too.
 */
app.hook.preInvocation((hook) => {
  const options = hook.invocationContext.options;
  const original = hook.functionHandler;
  if (options.trigger.type === 'httpTrigger') {
    const declared = options.trigger['route'];
    const route = `${ROUTE_PREFIX}/${typeof declared === 'string' ? declared : hook.invocationContext.functionName}`;
    hook.functionHandler = traceHttpRequest(route, original as (request: HttpRequest, context: InvocationContext) => Promise<{ status?: number }>) as FunctionHandler;
  } else if (options.trigger.type === 'activityTrigger') {
    hook.functionHandler = ((input: unknown, context: InvocationContext) => {
      const fields = typeof input === 'object' && input !== null ? (input as { trace?: unknown; instanceId?: unknown; operationId?: unknown }) : {};
      const instanceId = [context.triggerMetadata?.['instanceId'], fields.instanceId, fields.operationId].find((id): id is string => typeof id === 'string') ?? '';
      return traceActivity(
        { name: context.functionName, instanceId, ...(isTraceCarrier(fields.trace) ? { trace: fields.trace } : {}) },
        async () => (await original(input, context)) as unknown,
      );
    }) as FunctionHandler;
  }
});

/**
 * Disabled (nothing loaded or sent) without APPLICATIONINSIGHTS_CONNECTION_STRING. Started after
 * the hook above is registered: applicationinsights registers its own preInvocation hook, which
 * binds the function to the host's trace context; running after ours, it binds our wrapper (whose
 * span then becomes the active context inside), where running before ours it would bind the inner
 * handler and hide our span from it.
 */
export const telemetry = startTelemetry({ roleName: 'patient-app' });

app.hook.appTerminate(async () => {
  await telemetry.shutdown();
});
