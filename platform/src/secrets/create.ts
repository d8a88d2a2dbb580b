import type { TokenCredential } from '@azure/core-auth';
import type * as Identity from '@azure/identity';
import type * as KeyVaultSecrets from '@azure/keyvault-secrets';
import type { SecretClient, SecretClientOptions } from '@azure/keyvault-secrets';

import { CachedSecretSource, type SecretLog } from './cached-source';
import { parseKeyVaultReference } from './key-vault-reference';
import { secretNameForSetting } from './secret-names';
import type { SecretSource } from './source';

/** Setting names this module itself reads. */
export const SECRET_SETTINGS = {
  /** The vault to read secrets from, e.g. `https://kv-patients.vault.azure.net`. Unset: app settings only. */
  vaultUrl: 'KEY_VAULT_URL',
  /** Seconds a value is cached before it is read again (default 300, at most 86400). */
  cacheSeconds: 'KEY_VAULT_CACHE_SECONDS',
} as const;

const DEFAULT_CACHE_SECONDS = 300;
const MAX_CACHE_SECONDS = 24 * 3600;

export interface CreateSecretSourceOptions {
  /** The credential for Key Vault; `DefaultAzureCredential` (managed identity in Azure) unless given. */
  credential?: TokenCredential;
  /** Setting name → secret name, where the default mapping (see `secretNameForSetting`) does not fit. */
  secretNames?: Readonly<Record<string, string>>;
  /** Extra `SecretClient` options (retry, user agent). */
  clientOptions?: SecretClientOptions;
  /** Clock for the cache, for tests. */
  now?: () => number;
  log?: SecretLog;
}

/**
 * The settings source an app's composition root reads through (see `SecretSource`).
 *
 * - With `KEY_VAULT_URL`: every setting is first read from that vault as the secret named by
 *   `secretNameForSetting` (`AUDIT_API_KEY` → `audit-api-key`), newest version; a setting with no
 *   such secret (404), or one the identity may not read (403) while an app setting of that name
 *   exists, comes from the app setting. Access uses `DefaultAzureCredential`, which
 *   is the app's managed identity in Azure.
 * - Without it: app settings (the environment).
 * - Either way, an app setting that holds a Key Vault reference (`@Microsoft.KeyVault(...)`) is
 *   resolved through Key Vault.
 *
 * Values are cached for `KEY_VAULT_CACHE_SECONDS` (default 300 s); `refresh(name)` reads once more
 * now, which is how a rotated key is picked up without waiting. Nothing here logs a value.
 */
export function createSecretSource(env: NodeJS.ProcessEnv = process.env, options: CreateSecretSourceOptions = {}): SecretSource {
  const log = options.log ?? (() => undefined);
  const vaultUrl = nonEmpty(env[SECRET_SETTINGS.vaultUrl]);
  const cacheSeconds = Number(env[SECRET_SETTINGS.cacheSeconds] ?? DEFAULT_CACHE_SECONDS);
  if (!Number.isFinite(cacheSeconds) || cacheSeconds < 0) {
    throw new Error(`${SECRET_SETTINGS.cacheSeconds} must be a number of seconds, not ${JSON.stringify(env[SECRET_SETTINGS.cacheSeconds])}`);
  }
  if (vaultUrl !== undefined) assertVaultUrl(vaultUrl);

  const clients = new Map<string, SecretClient>();
  let credential: TokenCredential | undefined = options.credential;
  const clientFor = (url: string): SecretClient => {
    const origin = new URL(url).origin;
    let client = clients.get(origin);
    if (!client) {
      // Loaded on first use: an app without Key Vault never pays for the SDK.
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { SecretClient } = require('@azure/keyvault-secrets') as typeof KeyVaultSecrets;
      if (!credential) {
        const { DefaultAzureCredential } = require('@azure/identity') as typeof Identity;
        credential = new DefaultAzureCredential();
      }
      /* eslint-enable @typescript-eslint/no-require-imports */
      client = new SecretClient(origin, credential, {
        ...options.clientOptions,
        // Key Vault's challenge names the resource `vault.azure.net`; the SDK checks that the vault's
        // host ends with it. A loopback vault can only be the local fake, which cannot match.
        disableChallengeResourceVerification: options.clientOptions?.disableChallengeResourceVerification ?? isLoopback(origin),
      });
      clients.set(origin, client);
    }
    return client;
  };

  /** The secret's value; `undefined` when it does not exist; throws on anything else. */
  const readSecret = async (url: string, secretName: string, version?: string): Promise<string | undefined> => {
    try {
      const secret = await clientFor(url).getSecret(secretName, version ? { version } : {});
      return secret.value;
    } catch (error) {
      if ((error as { statusCode?: unknown }).statusCode === 404) return undefined;
      throw error;
    }
  };

  const fromAppSettings = async (name: string): Promise<string | undefined> => {
    const value = nonEmpty(env[name]);
    if (value === undefined) return undefined;
    const reference = parseKeyVaultReference(value);
    if (!reference) return value;
    const resolved = await readSecret(reference.vaultUrl, reference.secretName, reference.version);
    if (resolved === undefined) throw new Error(`The Key Vault reference in ${name} points to a secret that does not exist (${reference.secretName})`);
    return resolved;
  };

  const load = async (name: string): Promise<string | undefined> => {
    if (vaultUrl !== undefined) {
      const secretName = secretNameForSetting(name, options.secretNames);
      try {
        const value = await readSecret(vaultUrl, secretName);
        if (value !== undefined) {
          log('info', 'Read a setting from Key Vault', { setting: name, secret: secretName, vault: new URL(vaultUrl).host });
          return value;
        }
      } catch (error) {
        // Role assignments are per secret (env/secrets.tf): the identity may not read a secret that
        // is not meant for it, and such a setting is an ordinary app setting. Without an app setting
        // to fall back on, a refusal is a failure (a disabled version, a missing role).
        if ((error as { statusCode?: unknown }).statusCode !== 403 || nonEmpty(env[name]) === undefined) throw error;
        log('info', 'Key Vault refused the secret; using the app setting', { setting: name, secret: secretName });
      }
    }
    return fromAppSettings(name);
  };

  return new CachedSecretSource({
    load,
    ttlMs: Math.min(cacheSeconds, MAX_CACHE_SECONDS) * 1000,
    log,
    ...(options.now ? { now: options.now } : {}),
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function assertVaultUrl(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${SECRET_SETTINGS.vaultUrl} is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:') throw new Error(`${SECRET_SETTINGS.vaultUrl} must be an https:// URL`);
}

function isLoopback(origin: string): boolean {
  const host = new URL(origin).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}
