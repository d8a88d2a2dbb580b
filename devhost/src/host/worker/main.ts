/**
 * The app's worker process. It does what the Azure Functions Node.js worker does for one app:
 * answers `require('@azure/functions-core')` with a core API object (before any app code runs),
 * loads the files named by `main` in the app's package.json, runs the `appStart` hooks, and then
 * invokes registered functions through the app's programming model (getArguments → preInvocation
 * hooks → invokeFunction → postInvocation hooks → getResponse). The host talks to it over IPC.
 *
 * Started by the host as `node main.js <appDir>`, with the app's settings already in its environment
 * and the app folder as its working directory.
 */
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';

import { glob } from 'tinyglobby';

import type {
  FromWorker,
  FunctionRegistration,
  InvocationInput,
  LogLevel,
  SerializedError,
  ToWorker,
} from '../protocol';

type HookCallback = (context: unknown) => unknown;
type FunctionCallback = (...args: unknown[]) => unknown;

interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], callback: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<{ returnValue?: unknown; outputData?: unknown }>;
}

interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreContext: unknown): InvocationModel | Promise<InvocationModel>;
  getCapabilities(capabilities: Record<string, string>): Record<string, string> | Promise<Record<string, string>>;
}

interface FunctionMetadata {
  name: string;
  functionId?: string;
  bindings: FunctionRegistration['bindings'];
  retryOptions?: unknown;
}

class Disposable {
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => {
      for (const item of items) item.dispose();
    });
  }
  #callOnDispose: (() => unknown) | undefined;
  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }
  dispose(): void {
    const callback = this.#callOnDispose;
    this.#callOnDispose = undefined;
    callback?.();
  }
}

const appDir = path.resolve(process.argv[2] ?? '.');
const functions = new Map<string, { metadata: FunctionMetadata; callback: FunctionCallback }>();
const hooks = new Map<string, HookCallback[]>();
const appHookData: Record<string, unknown> = {};
const appLevelOnlyHookData: Record<string, unknown> = {};
let programmingModel: ProgrammingModel | undefined;
let startupFinished = false;

function send(message: FromWorker): void {
  process.send?.(message);
}

function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, ...(error.stack === undefined ? {} : { stack: error.stack }) };
  }
  return { name: 'Error', message: typeof error === 'string' ? error : format('%o', error) };
}

function log(
  level: LogLevel,
  category: 'user' | 'system',
  message: string,
  invocationId?: string,
  functionName?: string,
): void {
  send({
    type: 'log',
    level,
    category,
    message,
    ...(invocationId ? { invocationId } : {}),
    ...(functionName ? { functionName } : {}),
  });
}

// The worker's public core API (types-core/index.d.ts in azure-functions-nodejs-library).
const coreApi = {
  version: '3.10.1',
  hostVersion: '4.1037.0',
  registerHook(hookName: string, callback: HookCallback): Disposable {
    const list = hooks.get(hookName) ?? [];
    list.push(callback);
    hooks.set(hookName, list);
    return new Disposable(() => {
      const index = list.indexOf(callback);
      if (index >= 0) list.splice(index, 1);
    });
  },
  setProgrammingModel(model: ProgrammingModel): void {
    programmingModel = model;
  },
  getProgrammingModel(): ProgrammingModel | undefined {
    return programmingModel;
  },
  registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable {
    if (startupFinished) throw new Error('A function can only be registered during app startup.');
    const id = metadata.functionId ?? metadata.name;
    if (functions.has(id)) throw new Error(`A function named "${id}" is already registered.`);
    functions.set(id, { metadata, callback });
    return new Disposable(() => {
      if (startupFinished) throw new Error('A function can only be disposed during app startup.');
      functions.delete(id);
    });
  },
  log(level: LogLevel, category: 'user' | 'system', message: string): void {
    log(level, category, message);
  },
  Disposable,
};

// eslint-disable-next-line @typescript-eslint/unbound-method -- the Proxy applies it with the caller's `this`
const originalRequire = Module.prototype.require;
Module.prototype.require = new Proxy(originalRequire, {
  apply(target, thisArg, args: unknown[]): unknown {
    if (args[0] === '@azure/functions-core') return coreApi;
    return Reflect.apply(target, thisArg, args) as unknown;
  },
});

async function executeHooks(name: string, context: unknown): Promise<void> {
  for (const callback of [...(hooks.get(name) ?? [])]) await callback(context);
}

async function startApp(): Promise<void> {
  const manifest = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8')) as {
    main?: unknown;
    type?: unknown;
  };
  if (typeof manifest.main !== 'string' || manifest.main === '') {
    throw new Error(
      `${path.join(appDir, 'package.json')} has no "main" field naming the app's entry point (a file or glob)`,
    );
  }
  const files = (await glob(manifest.main, { cwd: appDir, absolute: true, onlyFiles: true })).sort();
  if (files.length === 0)
    throw new Error(`Found zero files matching the "main" pattern "${manifest.main}" in ${appDir}`);
  for (const file of files) {
    const isEsm = file.endsWith('.mjs') || (!file.endsWith('.cjs') && manifest.type === 'module');
    if (isEsm) await import(pathToFileURL(file).href);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS apps load through require, as in the Node worker
    else require(file);
  }
  await executeHooks('appStart', {
    get hookData() {
      return appLevelOnlyHookData;
    },
    get appHookData() {
      return appHookData;
    },
    functionAppDirectory: appDir,
  });
  if (programmingModel) {
    const capabilities = await programmingModel.getCapabilities({});
    if (capabilities.HttpUri) {
      throw new Error('HTTP streaming (app.setup({ enableHttpStream: true })) is not supported by the devhost');
    }
  } else if (functions.size > 0) {
    throw new Error('Functions were registered without a programming model (setProgrammingModel was never called)');
  }
  startupFinished = true;
  send({
    type: 'ready',
    functions: [...functions.values()].map(
      ({ metadata }) =>
        JSON.parse(
          JSON.stringify({ name: metadata.name, bindings: metadata.bindings, retryOptions: metadata.retryOptions }),
        ) as FunctionRegistration,
    ),
    ...(programmingModel
      ? { programmingModel: { name: programmingModel.name, version: programmingModel.version } }
      : {}),
  });
}

async function invoke(
  functionName: string,
  invocationId: string,
  inputData: InvocationInput[],
  traceContext: unknown,
): Promise<{ returnValue?: unknown; outputData?: unknown }> {
  const registered = functions.get(functionName);
  if (!registered || !programmingModel)
    throw new Error(`Function code for '${functionName}' is not loaded and cannot be invoked.`);
  let { callback } = registered;
  const coreContext = {
    invocationId,
    request: { invocationId, functionId: functionName, inputData, triggerMetadata: {}, traceContext },
    metadata: { name: registered.metadata.name, bindings: registered.metadata.bindings },
    state: undefined as string | undefined,
    log(level: LogLevel, category: 'user' | 'system', message: string): void {
      log(level, category, message, invocationId, functionName);
    },
  };
  const model = await programmingModel.getInvocationModel(coreContext);
  const hookData: Record<string, unknown> = {};
  const args = await model.getArguments();
  const { context } = args;
  let { inputs } = args;

  const preInvocation = {
    get hookData() {
      return hookData;
    },
    get appHookData() {
      return appHookData;
    },
    get invocationContext() {
      return context;
    },
    functionCallback: callback,
    inputs,
  };
  coreContext.state = 'preInvocationHooks';
  try {
    await executeHooks('preInvocation', preInvocation);
  } finally {
    coreContext.state = undefined;
  }
  inputs = preInvocation.inputs;
  callback = preInvocation.functionCallback;

  const postInvocation = {
    get hookData() {
      return hookData;
    },
    get appHookData() {
      return appHookData;
    },
    get invocationContext() {
      return context;
    },
    inputs,
    result: null as unknown,
    error: null as unknown,
  };
  coreContext.state = 'invocation';
  try {
    postInvocation.result = await model.invokeFunction(context, inputs, callback);
  } catch (error) {
    postInvocation.error = error;
  } finally {
    coreContext.state = undefined;
  }
  coreContext.state = 'postInvocationHooks';
  try {
    await executeHooks('postInvocation', postInvocation);
  } finally {
    coreContext.state = undefined;
  }
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows whatever the app threw
  if (postInvocation.error !== null && postInvocation.error !== undefined) throw postInvocation.error;
  return model.getResponse(context, postInvocation.result);
}

let shuttingDown = false;

process.on('message', (message: ToWorker) => {
  if (message.type === 'invoke') {
    invoke(message.functionName, message.invocationId, message.inputData, message.traceContext).then(
      (response) => {
        // A structured-clone round trip: anything the library returned that cannot cross (functions,
        // class instances with private fields) fails here, loudly, instead of in the host.
        send({ type: 'result', id: message.id, ok: true, response: response as never });
      },
      (error: unknown) => {
        send({ type: 'result', id: message.id, ok: false, error: serializeError(error) });
      },
    );
  } else if (!shuttingDown) {
    shuttingDown = true;
    const terminateContext = {
      get hookData() {
        return appLevelOnlyHookData;
      },
      get appHookData() {
        return appHookData;
      },
    };
    executeHooks('appTerminate', terminateContext)
      .catch((error: unknown) => {
        log('error', 'system', `An appTerminate hook failed: ${serializeError(error).stack ?? String(error)}`);
      })
      .finally(() => {
        if (process.connected) process.disconnect();
        process.exit(0);
      });
  }
});

// Ctrl-C in a terminal sends SIGINT to the whole process group, the worker included. The host
// decides when its worker stops (the 'shutdown' message runs the appTerminate hooks first); dying
// on the signal would skip those hooks and look to the host like a crash while it shuts down.
process.on('SIGINT', () => undefined);

// Losing the host means nobody can reach this process any more.
process.on('disconnect', () => {
  if (!shuttingDown) process.exit(0);
});

startApp().catch((error: unknown) => {
  const message: FromWorker = { type: 'startFailed', error: serializeError(error) };
  if (process.send) process.send(message, () => process.exit(1));
  else process.exit(1);
});
