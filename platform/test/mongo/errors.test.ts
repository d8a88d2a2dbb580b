import { MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';

import { ServiceUnavailableError } from '../../src/http';
import { isDuplicateKeyError, isStoreUnavailableError, storeUnavailable, withStore } from '../../src/mongo';

describe('store error classification', () => {
  it('recognises connectivity failures', () => {
    expect(isStoreUnavailableError(new MongoNetworkError('refused'))).toBe(true);
    expect(isStoreUnavailableError(new MongoServerSelectionError('timed out', { error: undefined, servers: new Map() } as never))).toBe(true);
    expect(isStoreUnavailableError(new MongoServerError({ message: 'shutting down', code: 91 }))).toBe(true);
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
    await expect(withStore(() => Promise.reject(new MongoNetworkError('refused')))).rejects.toBeInstanceOf(ServiceUnavailableError);
    const bug = new Error('bug');
    await expect(withStore(() => Promise.reject(bug))).rejects.toBe(bug);
    await expect(withStore(() => Promise.resolve(3))).resolves.toBe(3);
  });
});
