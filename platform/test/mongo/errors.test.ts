import { createRequire } from 'node:module';

import { MongoNetworkError, MongoServerClosedError, MongoServerError, MongoServerSelectionError } from 'mongodb';

import { ServiceUnavailableError } from '../../src/http';
import { isDuplicateKeyError, isStoreUnavailableError, storeUnavailable, withStore } from '../../src/mongo';

describe('store error classification', () => {
  it('recognises connectivity failures', () => {
    expect(isStoreUnavailableError(new MongoNetworkError('refused'))).toBe(true);
    expect(
      isStoreUnavailableError(
        new MongoServerSelectionError('timed out', { error: undefined, servers: new Map() } as never),
      ),
    ).toBe(true);
    expect(isStoreUnavailableError(new MongoServerError({ message: 'shutting down', code: 91 }))).toBe(true);
    expect(isStoreUnavailableError(new MongoServerClosedError())).toBe(true);
  });

  it('recognises a connectivity failure the driver throws under a subclass name it does not export', () => {
    // What an operation waiting for a connection gets when another connection to the server breaks
    // (the store-down drill answered it 500). The driver keeps the class internal, so it is loaded
    // from the driver's own files: a copy here would not follow the driver.
    const { PoolClearedOnNetworkError } = createRequire(require.resolve('mongodb'))('./cmap/errors') as {
      PoolClearedOnNetworkError: new (pool: { address: string }) => Error;
    };
    const error = new PoolClearedOnNetworkError({ address: '127.0.0.1:27017' });
    expect(error.name).toBe('PoolClearedOnNetworkError');
    expect(isStoreUnavailableError(error)).toBe(true);
    expect(storeUnavailable(error)?.code).toBe('store_unavailable');
  });

  it('does not treat other errors as an outage', () => {
    expect(isStoreUnavailableError(new MongoServerError({ message: 'dup', code: 11000 }))).toBe(false);
    expect(isStoreUnavailableError(new Error('bug'))).toBe(false);
    expect(isStoreUnavailableError('text')).toBe(false);
    expect(storeUnavailable(new Error('bug'))).toBeUndefined();
  });

  it('recognises the duplicate key error', () => {
    expect(isDuplicateKeyError(new MongoServerError({ message: 'E11000', code: 11000 }))).toBe(true);
    expect(isDuplicateKeyError(new MongoServerError({ message: 'other', code: 2 }))).toBe(false);
  });

  it('withStore turns an outage into a 503 and passes other errors through', async () => {
    await expect(withStore(() => Promise.reject(new MongoNetworkError('refused')))).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
    const bug = new Error('bug');
    await expect(withStore(() => Promise.reject(bug))).rejects.toBe(bug);
    await expect(withStore(() => Promise.resolve(3))).resolves.toBe(3);
  });
});
