import { HttpRequest, type HttpRequestInit, HttpResponse, type HttpResponseInit, InvocationContext } from '@azure/functions';

/** An HTTP function as the app registered it with the Functions runtime. */
export interface RegisteredHttpFunction {
  name: string;
  route: string;
  methods: string[];
  authLevel: string;
  handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
}

interface CoreFunctionMetadata {
  name: string;
  bindings: Record<string, { type: string; direction: string; route?: string; methods?: string[]; authLevel?: string }>;
}

/**
 * Loads an app entry point the way the Functions worker does: `@azure/functions` finds the worker's
 * core API (`@azure/functions-core`) and registers every function with it. Here that API records the
 * registrations, so tests call the app's real, registered handlers. Call inside a test or hook,
 * after the settings the app reads are in `process.env`.
 */
export function loadFunctionApp(load: () => void): LoadedFunctionApp {
  const registered = new Map<string, RegisteredHttpFunction>();
  const hooks: { name: string; callback: (context: unknown) => unknown }[] = [];
  const disposable = { dispose: (): void => undefined };
  jest.doMock(
    '@azure/functions-core',
    () => ({
      setProgrammingModel: (): void => undefined,
      getProgrammingModel: (): undefined => undefined,
      registerHook: (name: string, callback: (context: unknown) => unknown) => {
        hooks.push({ name, callback });
        return disposable;
      },
      registerFunction: (metadata: CoreFunctionMetadata, callback: RegisteredHttpFunction['handler']) => {
        const trigger = Object.values(metadata.bindings).find((binding) => binding.type === 'httpTrigger');
        if (trigger === undefined) throw new Error(`${metadata.name} is not an HTTP function`);
        registered.set(metadata.name, {
          name: metadata.name,
          route: trigger.route ?? metadata.name,
          methods: trigger.methods ?? [],
          authLevel: trigger.authLevel ?? 'function',
          handler: callback,
        });
        return disposable;
      },
    }),
    { virtual: true },
  );
  load();
  const runHooks = async (name: string): Promise<void> => {
    for (const hook of hooks.filter((candidate) => candidate.name === name)) {
      await hook.callback({ hookData: {}, appHookData: {}, functionAppDirectory: process.cwd() });
    }
  };
  return {
    functions: registered,
    get: (name) => {
      const found = registered.get(name);
      if (found === undefined) throw new Error(`${name} is not registered`);
      return found;
    },
    start: () => runHooks('appStart'),
    terminate: () => runHooks('appTerminate'),
  };
}

/** A loaded app: its registered HTTP functions and its lifecycle hooks, as the worker runs them. */
export interface LoadedFunctionApp {
  functions: Map<string, RegisteredHttpFunction>;
  get(name: string): RegisteredHttpFunction;
  /** Runs the `appStart` hooks (the worker does before the first invocation). */
  start(): Promise<void>;
  /** Runs the `appTerminate` hooks. */
  terminate(): Promise<void>;
}

export interface CallOptions extends Omit<HttpRequestInit, 'body'> {
  /** A JSON value (sent with `application/json`) or raw text. */
  json?: unknown;
  text?: string;
}

/** A JSON body as tests read it: loosely typed, so assertions can reach into it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonBody = any;

export interface Answer {
  status: number;
  headers: Headers;
  body: JsonBody;
  logs: string[];
}

/**
 * Invokes a registered HTTP handler with a real `HttpRequest` and `InvocationContext`, and reads
 * the answer back through a real `HttpResponse`, as the worker does.
 */
export async function invoke(fn: RegisteredHttpFunction | undefined, options: CallOptions = {}): Promise<Answer> {
  if (fn === undefined) throw new Error('No such registered function');
  const { json, text, headers = {}, ...init } = options;
  const requestHeaders = { ...headers };
  let body: HttpRequestInit['body'];
  if (json !== undefined) {
    requestHeaders['content-type'] ??= 'application/json';
    body = { string: JSON.stringify(json) };
  } else if (text !== undefined) {
    body = { string: text };
  }
  const request = new HttpRequest({
    method: fn.methods[0] ?? 'GET',
    url: `http://127.0.0.1/api/${fn.route}`,
    ...init,
    headers: requestHeaders,
    ...(body === undefined ? {} : { body }),
  });
  const logs: string[] = [];
  const context = new InvocationContext({
    invocationId: `test-${Math.random().toString(36).slice(2)}`,
    functionName: fn.name,
    logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
  });
  const response = new HttpResponse(await fn.handler(request, context));
  const raw = await response.text();
  return { status: response.status, headers: response.headers, body: raw === '' ? undefined : JSON.parse(raw), logs };
}
