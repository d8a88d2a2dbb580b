/**
 * A stand-in for the `@azure/functions-core` module the Node worker provides (durable-protocol.md
 * §2.4): `@azure/functions` registers every function through it, so the real `app.*` and
 * `df.app.*` registrations of a fixture app can be captured and invoked in-process.
 *
 * Under jest: `jest.mock('@azure/functions-core', () => require('./support/functions-core').functionsCore, { virtual: true })`.
 * In a plain Node process: `installFunctionsCore()` before the app is loaded.
 */
import Module from 'node:module';

export interface CapturedFunction {
  metadata: { name: string; bindings: Record<string, { type: string; direction?: string }> };
  callback: (...args: unknown[]) => unknown;
}

export const capturedFunctions = new Map<string, CapturedFunction>();

class Disposable {
  constructor(private readonly onDispose: () => void) {}
  dispose(): void {
    this.onDispose();
  }
}

export const functionsCore = {
  version: '4.0.0',
  hostVersion: '4.0.0',
  Disposable,
  registerFunction(metadata: CapturedFunction['metadata'], callback: CapturedFunction['callback']): Disposable {
    if (capturedFunctions.has(metadata.name))
      throw new Error(`A function named '${metadata.name}' is already registered`);
    capturedFunctions.set(metadata.name, { metadata, callback });
    return new Disposable(() => capturedFunctions.delete(metadata.name));
  },
  setProgrammingModel(): void {
    // The programming model matters only for invocation path B (the worker's RPC shapes); tests use path A.
  },
  getProgrammingModel(): undefined {
    return undefined;
  },
  registerHook(): Disposable {
    return new Disposable(() => undefined);
  },
};

/** Answers `require('@azure/functions-core')` the way the Node worker does (a require proxy). */
export function installFunctionsCore(): void {
  type Require = (this: unknown, id: string) => unknown;
  const proto = Module.prototype as unknown as { require: Require };
  const original = proto.require;
  proto.require = new Proxy(original, {
    apply(target, self, args: [string]) {
      return args[0] === '@azure/functions-core' ? functionsCore : Reflect.apply(target, self, args);
    },
  });
}
