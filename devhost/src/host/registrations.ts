import type { FunctionRegistration } from './protocol';
import { parseRoute, type RouteMatcher, RouteTemplateError } from './routes';

export type AuthLevel = 'anonymous' | 'function' | 'admin';

export interface HttpFunction {
  name: string;
  route: RouteMatcher;
  /** Upper-case methods, or undefined for every method. */
  methods: string[] | undefined;
  authLevel: AuthLevel;
  triggerBinding: string;
}

export interface AppFunctions {
  all: FunctionRegistration[];
  http: HttpFunction[];
  orchestrators: string[];
  activities: string[];
  /** Functions declaring a `durableClient` input, with that binding's name. */
  durableClientBindings: Map<string, string>;
  /** Trigger binding name by function. */
  triggerBindings: Map<string, string>;
}

/** A registration the devhost cannot serve; the message names every such function and binding. */
export class UnsupportedFunctionError extends Error {
  override readonly name = 'UnsupportedFunctionError';
}

const supportedTriggers = new Set(['httptrigger', 'orchestrationtrigger', 'activitytrigger']);
const durableClientTypes = new Set(['durableclient', 'orchestrationclient']);

/**
 * Sorts the app's registrations by what serves them, and rejects the ones nothing here can serve:
 * other triggers (timer, queue, entity, …), input bindings other than the durable client, output
 * bindings other than an HTTP trigger's response, and routes with unknown syntax or constraints.
 */
export function classifyFunctions(registrations: FunctionRegistration[], routePrefix: string): AppFunctions {
  const problems: string[] = [];
  const result: AppFunctions = {
    all: registrations,
    http: [],
    orchestrators: [],
    activities: [],
    durableClientBindings: new Map(),
    triggerBindings: new Map(),
  };
  for (const registration of registrations) {
    const bindings = Object.entries(registration.bindings);
    const triggers = bindings.filter(([, binding]) => /trigger$/i.test(binding.type));
    const [trigger] = triggers;
    if (!trigger || triggers.length > 1) {
      problems.push(`function "${registration.name}" must have exactly one trigger, has ${triggers.length}`);
      continue;
    }
    const [triggerName, triggerBinding] = trigger;
    const triggerType = triggerBinding.type.toLowerCase();
    if (!supportedTriggers.has(triggerType)) {
      problems.push(
        `function "${registration.name}": trigger type "${triggerBinding.type}" is not supported (supported: httpTrigger, orchestrationTrigger, activityTrigger)`,
      );
      continue;
    }
    result.triggerBindings.set(registration.name, triggerName);
    let bindingProblem = false;
    for (const [bindingName, binding] of bindings) {
      if (bindingName === triggerName) continue;
      const type = binding.type.toLowerCase();
      if (binding.direction === 'in' && durableClientTypes.has(type)) {
        result.durableClientBindings.set(registration.name, bindingName);
      } else if (
        binding.direction === 'out' &&
        bindingName === '$return' &&
        type === 'http' &&
        triggerType === 'httptrigger'
      ) {
        // The HTTP response.
      } else {
        problems.push(
          `function "${registration.name}": ${binding.direction} binding "${bindingName}" of type "${binding.type}" is not supported`,
        );
        bindingProblem = true;
      }
    }
    if (bindingProblem) continue;
    if (triggerType === 'orchestrationtrigger') result.orchestrators.push(registration.name);
    else if (triggerType === 'activitytrigger') result.activities.push(registration.name);
    else {
      try {
        result.http.push(httpFunction(registration.name, triggerName, triggerBinding, routePrefix));
      } catch (error) {
        problems.push(`function "${registration.name}": ${(error as Error).message}`);
      }
    }
  }
  if (problems.length > 0) {
    throw new UnsupportedFunctionError(`The devhost cannot serve this app:\n  - ${problems.join('\n  - ')}`);
  }
  return result;
}

function httpFunction(
  name: string,
  triggerBinding: string,
  binding: Record<string, unknown>,
  routePrefix: string,
): HttpFunction {
  const authLevel = typeof binding.authLevel === 'string' ? binding.authLevel.toLowerCase() : 'function';
  if (authLevel !== 'anonymous' && authLevel !== 'function' && authLevel !== 'admin') {
    throw new Error(`authLevel "${String(binding.authLevel)}" is not supported (anonymous, function, admin)`);
  }
  const route = typeof binding.route === 'string' && binding.route.trim() !== '' ? binding.route : name;
  const full = routePrefix ? `${routePrefix}/${route.replace(/^\/+/, '')}` : route;
  let matcher: RouteMatcher;
  try {
    matcher = parseRoute(full);
  } catch (error) {
    if (error instanceof RouteTemplateError) throw new Error(`route "${route}": ${error.message}`);
    throw error;
  }
  const methods =
    Array.isArray(binding.methods) && binding.methods.length > 0
      ? binding.methods.map((method) => String(method).toUpperCase())
      : undefined;
  return { name, route: matcher, methods, authLevel, triggerBinding };
}
