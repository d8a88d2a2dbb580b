import diagnosticsChannel from 'node:diagnostics_channel';
import https from 'node:https';
import type { Socket } from 'node:net';

import { SecretClient } from '@azure/keyvault-secrets';
import { type FakeKeyVault, localCertificate, startFakeKeyVault } from '@patient-records/devhost';

import { createSecretSource, type SecretSource } from '../../src/secrets';

// The real SecretClient and DefaultAzureCredential against the local Key Vault-compatible endpoint.
// DefaultAzureCredential finds the managed identity the way it does inside Azure Functions
// (IDENTITY_ENDPOINT + IDENTITY_HEADER), so this is the production code path end to end.

let vault: FakeKeyVault;
let agent: https.Agent;
const remoteAddresses = new Set<string>();
const onSocket = (message: unknown): void => {
  const { socket } = message as { socket: Socket };
  socket.once('connect', () => remoteAddresses.add(socket.remoteAddress ?? 'unknown'));
};

beforeAll(async () => {
  diagnosticsChannel.subscribe('net.client.socket', onSocket);
  const certificate = await localCertificate();
  vault = await startFakeKeyVault({ certificate });
  // NODE_EXTRA_CA_CERTS is read only at process start (app processes get it from vault.env());
  // inside this jest worker the client trusts the local certificate through its agent instead.
  agent = new https.Agent({ ca: certificate.cert, keepAlive: false });
  const { NODE_EXTRA_CA_CERTS: _unused, KEY_VAULT_URL: _url, ...identity } = vault.env();
  Object.assign(process.env, identity);
});

afterAll(async () => {
  diagnosticsChannel.unsubscribe('net.client.socket', onSocket);
  agent.destroy();
  await vault.stop();
});

interface Harness {
  source: SecretSource;
  advance: (ms: number) => void;
  logs: unknown[];
}

function harness(env: Record<string, string>): Harness {
  let now = 1_000_000;
  const logs: unknown[] = [];
  const source = createSecretSource(env, {
    clientOptions: { agent },
    now: () => now,
    log: (...entry) => logs.push(entry),
  });
  return { source, advance: (ms) => (now += ms), logs };
}

const vaultGets = (secret: string): number =>
  vault.requests().filter((request) => request.method === 'GET' && request.path.startsWith(`/secrets/${secret}`) && request.auth === 'valid').length;

test('reads a setting through the bearer challenge with a managed identity token', async () => {
  vault.setSecret('challenge-key', 'challenge-value-1');
  const before = vault.requests().length;
  const { source } = harness({ KEY_VAULT_URL: vault.url });

  await expect(source.get('CHALLENGE_KEY')).resolves.toBe('challenge-value-1');

  const requests = vault.requests().slice(before);
  // First the unauthenticated round that earns the challenge, then the same GET with the token.
  expect(requests[0]).toMatchObject({ method: 'GET', path: '/secrets/challenge-key/', auth: 'none', status: 401 });
  expect(requests.at(-1)).toMatchObject({ method: 'GET', path: '/secrets/challenge-key/', auth: 'valid', status: 200 });
  expect(requests.at(-1)?.apiVersion).toMatch(/^\d{4}-\d{2}-\d{2}/);
  expect(vault.tokensIssued()).toBeGreaterThanOrEqual(1);
});

test('serves the cached value within its lifetime and reads the newest version after it', async () => {
  vault.setSecret('cached-key', 'first');
  const { source, advance } = harness({ KEY_VAULT_URL: vault.url, KEY_VAULT_CACHE_SECONDS: '60' });

  await expect(source.get('CACHED_KEY')).resolves.toBe('first');
  vault.setSecret('cached-key', 'second');
  advance(59_000);
  await expect(source.get('CACHED_KEY')).resolves.toBe('first');
  expect(vaultGets('cached-key')).toBe(1);

  advance(2_000);
  await expect(source.get('CACHED_KEY')).resolves.toBe('second');
  expect(vaultGets('cached-key')).toBe(2);
  expect(vault.versions('cached-key')).toHaveLength(2);
});

test('refresh reads the rotated value at once, and a burst of refreshes reads Key Vault once', async () => {
  vault.setSecret('rotated-key', 'old-key');
  const { source } = harness({ KEY_VAULT_URL: vault.url });
  await expect(source.get('ROTATED_KEY')).resolves.toBe('old-key');

  vault.setSecret('rotated-key', 'new-key');
  await expect(source.get('ROTATED_KEY')).resolves.toBe('old-key');
  const before = vaultGets('rotated-key');
  const refreshed = await Promise.all(Array.from({ length: 8 }, () => source.refresh('ROTATED_KEY')));

  expect(refreshed).toEqual(Array.from({ length: 8 }, () => 'new-key'));
  expect(vaultGets('rotated-key') - before).toBe(1);
  await expect(source.get('ROTATED_KEY')).resolves.toBe('new-key');
});

test('lists the versions of a secret through the real SecretClient', async () => {
  const first = vault.setSecret('versioned-key', 'v1');
  const second = vault.setSecret('versioned-key', 'v2');
  // A token straight from the managed identity endpoint (DefaultAzureCredential's path is covered above).
  const credential = {
    getToken: async () => {
      const url = `${vault.identityEndpoint}?api-version=2019-08-01&resource=${encodeURIComponent('https://vault.azure.net')}`;
      const token = (await (await fetch(url, { headers: { 'x-identity-header': vault.identityHeader } })).json()) as { access_token: string; expires_on: string };
      return { token: token.access_token, expiresOnTimestamp: Number(token.expires_on) * 1000 };
    },
  };
  const client = new SecretClient(vault.url, credential, { agent, disableChallengeResourceVerification: true });
  const versions: string[] = [];
  for await (const properties of client.listPropertiesOfSecretVersions('versioned-key')) versions.push(properties.version ?? '');
  expect(versions).toEqual([first, second]);
  expect((await client.getSecret('versioned-key', { version: first })).value).toBe('v1');
  await expect(client.getSecret('no-such-secret')).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
});

test('falls back to app settings for settings the vault does not hold', async () => {
  const { source } = harness({ KEY_VAULT_URL: vault.url, AUDIT_APP_URL: 'http://127.0.0.1:7072' });
  await expect(source.get('AUDIT_APP_URL')).resolves.toBe('http://127.0.0.1:7072');
  await expect(source.get('NOT_SET_ANYWHERE')).resolves.toBeUndefined();
});

test('resolves Key Vault references held in app settings, versionless and pinned', async () => {
  const pinned = vault.setSecret('referenced-key', 'version-one');
  vault.setSecret('referenced-key', 'version-two');
  const { source } = harness({
    LATEST: `@Microsoft.KeyVault(SecretUri=${vault.url}/secrets/referenced-key/)`,
    PINNED: `@Microsoft.KeyVault(SecretUri=${vault.url}/secrets/referenced-key/${pinned})`,
    MISSING: `@Microsoft.KeyVault(SecretUri=${vault.url}/secrets/no-such-secret/)`,
  });

  await expect(source.get('LATEST')).resolves.toBe('version-two');
  await expect(source.get('PINNED')).resolves.toBe('version-one');
  await expect(source.get('MISSING')).rejects.toThrow(/MISSING.*no-such-secret/);
});

test('keeps serving the last value when Key Vault refuses, and never logs a value', async () => {
  const version = vault.setSecret('blip-key', 'value-before-blip');
  const { source, logs } = harness({ KEY_VAULT_URL: vault.url });
  await expect(source.get('BLIP_KEY')).resolves.toBe('value-before-blip');

  vault.setEnabled('blip-key', version, false);
  await expect(source.refresh('BLIP_KEY')).resolves.toBe('value-before-blip');
  vault.setEnabled('blip-key', version, true);

  expect(logs.length).toBeGreaterThan(0);
  expect(JSON.stringify(logs)).not.toContain('value-before-blip');
  expect(JSON.stringify(logs)).toContain('BLIP_KEY');
});

test('without KEY_VAULT_URL reads app settings, and empty means unset', async () => {
  const { source } = harness({ AUDIT_API_KEY: 'local-key', EMPTY: '' });
  await expect(source.get('AUDIT_API_KEY')).resolves.toBe('local-key');
  await expect(source.get('EMPTY')).resolves.toBeUndefined();
});

test('refuses a vault URL that is not https', () => {
  expect(() => createSecretSource({ KEY_VAULT_URL: 'http://127.0.0.1:1' })).toThrow(/https/);
});

test('nothing left the machine', () => {
  expect(remoteAddresses.size).toBeGreaterThan(0);
  for (const address of remoteAddresses) expect(['127.0.0.1', '::ffff:127.0.0.1', '::1']).toContain(address);
});

test('a secret the identity may not read falls back to the app setting of that name', async () => {
  const version = vault.setSecret('audit-api-url', 'from-vault');
  vault.setEnabled('audit-api-url', version, false); // the fake answers 403, as Key Vault does for a refused read
  const { source } = harness({ KEY_VAULT_URL: vault.url, AUDIT_API_URL: 'https://audit.example.test' });
  await expect(source.get('AUDIT_API_URL')).resolves.toBe('https://audit.example.test');
});
