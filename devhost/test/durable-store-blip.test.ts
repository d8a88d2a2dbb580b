// eslint-disable-next-line @typescript-eslint/no-require-imports
jest.mock('@azure/functions-core', () => require('./support/functions-core').functionsCore, { virtual: true });

import './fixtures/durable-app';

import type { Db } from 'mongodb';

import type { DurableEngine } from '../src/durable/contract';
import { createDurableEngine } from '../src/durable/engine';
import { createInProcessInvoker } from './support/in-process-invoker';
import { type ManagementServer, serveManagementApi, waitForFinish } from './support/management-server';
import { useStore } from './support/store';

/**
 * The engine when one call to its store fails, as calls in flight do when the connection drops
 * (the patient-app store drill's task hub blip found an instance stranded this way). Faults are
 * injected into the engine's collections: the next matching call throws a network error once.
 */
interface Fault {
  collection: string;
  method: string;
  when?: (args: unknown[]) => boolean;
  /** The call reaches the store and is applied; only its answer is lost (the connection dropped after sending). */
  applied?: boolean;
}

const faults: Fault[] = [];
const injected: Fault[] = [];

function networkError(): Error {
  const error = new Error('read ECONNRESET');
  error.name = 'MongoNetworkError';
  return error;
}

/** The store's database, with collections whose calls fail once where a fault is armed. */
function faulty(db: Db): Db {
  return new Proxy(db, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== 'collection' || typeof value !== 'function') return value;
      return (name: string, ...rest: unknown[]) => {
        const collection = (value as (...a: unknown[]) => object).call(target, name, ...rest);
        return new Proxy(collection, {
          get(inner, method, innerReceiver) {
            const fn = Reflect.get(inner, method, innerReceiver) as unknown;
            if (typeof fn !== 'function' || typeof method !== 'string') return fn;
            return (...args: unknown[]) => {
              const index = faults.findIndex(
                (f) => name.endsWith(`_${f.collection}`) && f.method === method && (f.when?.(args) ?? true),
              );
              if (index >= 0) {
                const [fault] = faults.splice(index, 1);
                injected.push(fault!);
                if (!fault!.applied) return Promise.reject(networkError());
                return (async () => {
                  await (fn as (...a: unknown[]) => Promise<unknown>).apply(inner, args);
                  throw networkError();
                })();
              }
              return (fn as (...a: unknown[]) => unknown).apply(inner, args);
            };
          },
        });
      };
    },
  });
}

// Declared before useStore: jest runs afterAll hooks in declaration order, and the engine must stop before the store.
afterAll(async () => {
  await server.close();
  await engine.stop();
});
const store = useStore('durable_store_blip');
let engine: DurableEngine;
let server: ManagementServer;

beforeAll(async () => {
  engine = createDurableEngine({
    db: faulty(store.db()),
    hubName: 'BlipHub',
    invoker: createInProcessInvoker(),
    maxConcurrentOrchestratorFunctions: 8,
    maxConcurrentActivityFunctions: 8,
    log: () => undefined,
  });
  await engine.start();
  server = await serveManagementApi(engine);
});

afterEach(() => {
  faults.length = 0;
  injected.length = 0;
});

const isDocWithId = (test: (id: string) => boolean) => (args: unknown[]) => {
  const first = args[0] as { _id?: unknown } | undefined;
  return typeof first?._id === 'string' && test(first._id);
};

describe('the engine when a store call fails after an episode is committed', () => {
  test('consuming the message it handled fails: the next activity still runs, and the instance completes', async () => {
    const client = server.client();
    // Armed after the start, so it hits the episode that handles the first activity's result.
    const id = await client.startNew('TwoSteps', { input: 'Blip' });
    const fault = { collection: 'inbox', method: 'deleteOne' };
    faults.push(fault);
    const status = await waitForFinish(client, id, 15_000);
    expect(injected).toEqual([fault]);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual(['Hello Blip', 'Hello Blip again']);
  });
});

test('a fired timer whose message cannot be stored fires again', async () => {
  const client = server.client();
  const fault = { collection: 'inbox', method: 'insertOne', when: isDocWithId((id) => id.endsWith('|fired')) };
  faults.push(fault);
  const id = await client.startNew('Sleeper', { input: 200 });
  const status = await waitForFinish(client, id, 15_000);
  expect(injected).toEqual([fault]);
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toBe(true);
});

test('an activity result stored by an attempt whose answer was lost reaches the instance', async () => {
  const client = server.client();
  const fault = {
    collection: 'inbox',
    method: 'insertOne',
    when: isDocWithId((id) => id.endsWith('|result')),
    applied: true,
  };
  faults.push(fault);
  const id = await client.startNew('TwoSteps', { input: 'Lost' });
  const status = await waitForFinish(client, id, 15_000);
  expect(injected).toEqual([fault]);
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toEqual(['Hello Lost', 'Hello Lost again']);
});

test('an instance created by a start whose answer was lost runs when the start is repeated', async () => {
  const client = server.client();
  const fault = { collection: 'instances', method: 'insertOne', applied: true };
  faults.push(fault);
  const instanceId = 'blip-lost-start';
  await expect(client.startNew('TwoSteps', { instanceId, input: 'Again' })).rejects.toThrow();
  await client.startNew('TwoSteps', { instanceId, input: 'Again' }).catch(() => undefined);
  const status = await waitForFinish(client, instanceId, 15_000);
  expect(injected).toEqual([fault]);
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toEqual(['Hello Again', 'Hello Again again']);
});
