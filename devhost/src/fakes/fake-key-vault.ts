import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

import { type LocalCertificate, localCertificate } from './certificate';
import { closeServer, listenOnLoopback, readBody, sendJson } from './http-util';

/** One request the fake vault received; values are never recorded, only what was asked for. */
export interface VaultRequest {
  method: string;
  path: string;
  apiVersion: string | null;
  /** `none` (the challenge round), `valid` or `invalid` bearer token. */
  auth: 'none' | 'valid' | 'invalid';
  status: number;
}

export interface FakeKeyVaultOptions {
  certificate?: LocalCertificate;
  /** The tenant the 401 challenge names. */
  tenantId?: string;
  /** How long issued access tokens live, in seconds (default one hour). */
  tokenLifetimeSeconds?: number;
}

export interface FakeKeyVault {
  /** The vault URL, `https://127.0.0.1:<port>` (what `KEY_VAULT_URL` holds). */
  readonly url: string;
  /** The managed identity endpoint (App Service protocol, `IDENTITY_ENDPOINT`), plain HTTP on loopback as in Azure. */
  readonly identityEndpoint: string;
  /** The secret header the identity endpoint requires (`IDENTITY_HEADER`). */
  readonly identityHeader: string;
  /**
   * The settings an app process needs to reach this vault the way it reaches Key Vault in Azure:
   * `KEY_VAULT_URL`, the managed identity variables `DefaultAzureCredential` reads, and
   * `NODE_EXTRA_CA_CERTS` so the process trusts the local certificate.
   */
  env(): Record<string, string>;
  /** Stores a new version of a secret (as `az keyvault secret set` does) and returns its version id. */
  setSecret(name: string, value: string): string;
  /** Enables or disables one version; a disabled version is refused with 403, as in Azure. */
  setEnabled(name: string, version: string, enabled: boolean): void;
  /** The version ids of a secret, oldest first. */
  versions(name: string): string[];
  /** Every request so far, in order. */
  requests(): VaultRequest[];
  /** How many access tokens the identity endpoint issued. */
  tokensIssued(): number;
  stop(): Promise<void>;
}

interface SecretVersion {
  version: string;
  value: string;
  enabled: boolean;
  created: number;
  updated: number;
  contentType?: string;
  tags: Record<string, string>;
}

const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
const VAULT_RESOURCE = 'https://vault.azure.net';

/**
 * A local, HTTPS, Key Vault-compatible secrets endpoint for tests and the local stack; the real
 * `@azure/keyvault-secrets` `SecretClient` talks to it unchanged. It implements what the project
 * uses, with Azure's wire shapes (REST API `2025-07-01` and earlier): the bearer challenge (`401`
 * with `WWW-Authenticate` naming the tenant and resource), set / get / get version / list versions /
 * list secrets / update version attributes, `404 SecretNotFound`, `403` for a disabled version.
 *
 * Tokens come from a managed identity endpoint speaking the App Service protocol (`GET
 * ?resource=…&api-version=2019-08-01` with `X-IDENTITY-HEADER`), which is what
 * `DefaultAzureCredential` uses inside Azure Functions; only tokens it issued are accepted.
 */
export async function startFakeKeyVault(options: FakeKeyVaultOptions = {}): Promise<FakeKeyVault> {
  const certificate = options.certificate ?? (await localCertificate());
  const tenantId = options.tenantId ?? '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const tokenLifetime = options.tokenLifetimeSeconds ?? 3600;
  const identityHeader = randomBytes(16).toString('hex');
  const secrets = new Map<string, SecretVersion[]>();
  const tokens = new Map<string, number>(); // token -> expiry (ms)
  const log: VaultRequest[] = [];
  let clock = 0;
  // Versions created in the same millisecond still sort by creation order.
  const now = (): number => (clock = Math.max(clock + 1, Date.now()));

  const vault = https.createServer({ cert: certificate.cert, key: certificate.key }, (request, response) => {
    void handleVault(request, response);
  });
  const identity = http.createServer((request, response) => {
    void handleIdentity(request, response);
  });
  const vaultPort = await listenOnLoopback(vault);
  const identityPort = await listenOnLoopback(identity);
  const url = `https://127.0.0.1:${vaultPort}`;
  const identityEndpoint = `http://127.0.0.1:${identityPort}/msi/token`;

  const bundle = (name: string, entry: SecretVersion): Record<string, unknown> => ({
    value: entry.value,
    id: `${url}/secrets/${name}/${entry.version}`,
    ...(entry.contentType ? { contentType: entry.contentType } : {}),
    attributes: attributes(entry),
    tags: entry.tags,
  });
  const attributes = (entry: SecretVersion): Record<string, unknown> => ({
    enabled: entry.enabled,
    created: Math.floor(entry.created / 1000),
    updated: Math.floor(entry.updated / 1000),
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: 90,
  });
  const store = (name: string, value: string, contentType?: string, tags: Record<string, string> = {}): SecretVersion => {
    const at = now();
    const entry: SecretVersion = { version: randomUUID().replaceAll('-', ''), value, enabled: true, created: at, updated: at, tags, ...(contentType ? { contentType } : {}) };
    const list = secrets.get(name) ?? [];
    list.push(entry);
    secrets.set(name, list);
    return entry;
  };
  const notFound = (name: string, version?: string): [number, unknown] => [
    404,
    { error: { code: 'SecretNotFound', message: `A secret with (name/id) ${name}${version ? `/${version}` : ''} was not found in this key vault.` } },
  ];

  async function handleVault(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const parsed = new URL(request.url ?? '/', url);
    const method = request.method ?? 'GET';
    const header = request.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(header)?.[1];
    const auth: VaultRequest['auth'] = token === undefined ? 'none' : (tokens.get(token) ?? 0) > Date.now() ? 'valid' : 'invalid';
    const record = (status: number): void => {
      log.push({ method, path: parsed.pathname, apiVersion: parsed.searchParams.get('api-version'), auth, status });
    };
    const body = await readBody(request).catch(() => Buffer.alloc(0));
    if (auth !== 'valid') {
      record(401);
      sendJson(response, 401, { error: { code: 'Unauthorized', message: auth === 'none' ? 'AKV10000: Request is missing a Bearer or PoP token.' : 'AKV10032: Invalid issuer or expired token.' } }, {
        'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${VAULT_RESOURCE}"`,
      });
      return;
    }
    if (!parsed.searchParams.get('api-version')) {
      record(400);
      sendJson(response, 400, { error: { code: 'BadParameter', message: 'The api-version query parameter is required.' } });
      return;
    }
    const [status, payload] = route(method, parsed, body);
    record(status);
    sendJson(response, status, payload);
  }

  function route(method: string, parsed: URL, body: Buffer): [number, unknown] {
    // The SDK asks for `/secrets/name/` (empty version) for the latest version.
    const parts = parsed.pathname.split('/').filter((part) => part !== '');
    if (parts[0] !== 'secrets') return [404, { error: { code: 'NotFound', message: 'Unknown path' } }];
    const name = parts[1];
    if (name === undefined) {
      if (method !== 'GET') return [405, { error: { code: 'MethodNotAllowed', message: method } }];
      const value = [...secrets.entries()].map(([secretName, list]) => {
        const latest = list[list.length - 1] as SecretVersion;
        return { id: `${url}/secrets/${secretName}`, attributes: attributes(latest), tags: latest.tags };
      });
      return [200, { value, nextLink: null }];
    }
    if (!SECRET_NAME.test(name)) return [400, { error: { code: 'BadParameter', message: 'Secret names contain only 0-9, a-z, A-Z and -.' } }];
    const list = secrets.get(name) ?? [];
    const second = parts[2];
    if (method === 'PUT' && second === undefined) {
      let parsedBody: { value?: unknown; contentType?: unknown; tags?: unknown };
      try {
        parsedBody = JSON.parse(body.toString('utf8')) as typeof parsedBody;
      } catch {
        return [400, { error: { code: 'BadParameter', message: 'The body is not JSON.' } }];
      }
      if (typeof parsedBody.value !== 'string') return [400, { error: { code: 'BadParameter', message: 'value is required.' } }];
      const entry = store(name, parsedBody.value, typeof parsedBody.contentType === 'string' ? parsedBody.contentType : undefined, (parsedBody.tags ?? {}) as Record<string, string>);
      return [200, bundle(name, entry)];
    }
    if (method === 'GET' && second === 'versions') {
      if (list.length === 0) return notFound(name);
      const value = list.map((entry) => ({ id: `${url}/secrets/${name}/${entry.version}`, attributes: attributes(entry), tags: entry.tags }));
      return [200, { value, nextLink: null }];
    }
    if (method === 'GET') {
      const entry = second === undefined ? latestEnabled(list) : list.find((candidate) => candidate.version === second);
      if (!entry) return notFound(name, second);
      if (!entry.enabled) return [403, { error: { code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.' } }];
      return [200, bundle(name, entry)];
    }
    if (method === 'PATCH' && second !== undefined) {
      const entry = list.find((candidate) => candidate.version === second);
      if (!entry) return notFound(name, second);
      const update = JSON.parse(body.toString('utf8') || '{}') as { attributes?: { enabled?: unknown }; tags?: unknown };
      if (typeof update.attributes?.enabled === 'boolean') entry.enabled = update.attributes.enabled;
      if (update.tags && typeof update.tags === 'object') entry.tags = update.tags as Record<string, string>;
      entry.updated = now();
      const { value: _value, ...withoutValue } = bundle(name, entry);
      return [200, withoutValue];
    }
    return [405, { error: { code: 'MethodNotAllowed', message: `${method} ${parsed.pathname}` } }];
  }

  async function handleIdentity(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    await readBody(request).catch(() => undefined);
    const parsed = new URL(request.url ?? '/', identityEndpoint);
    if (parsed.pathname !== '/msi/token' || request.method !== 'GET') {
      sendJson(response, 404, { error: 'not_found' });
      return;
    }
    if (request.headers['x-identity-header'] !== identityHeader) {
      sendJson(response, 401, { error: 'invalid_request', error_description: 'X-IDENTITY-HEADER is missing or wrong.' });
      return;
    }
    const resource = parsed.searchParams.get('resource') ?? '';
    if (resource.replace(/\/(\.default)?$/, '') !== VAULT_RESOURCE) {
      sendJson(response, 400, { error: 'invalid_resource', error_description: `This identity endpoint only issues tokens for ${VAULT_RESOURCE}.` });
      return;
    }
    const token = randomBytes(24).toString('base64url');
    const expiresOn = Math.floor(Date.now() / 1000) + tokenLifetime;
    tokens.set(token, expiresOn * 1000);
    sendJson(response, 200, { access_token: token, expires_on: String(expiresOn), resource, token_type: 'Bearer', client_id: randomUUID() });
  }

  return {
    url,
    identityEndpoint,
    identityHeader,
    env: () => ({
      KEY_VAULT_URL: url,
      IDENTITY_ENDPOINT: identityEndpoint,
      IDENTITY_HEADER: identityHeader,
      NODE_EXTRA_CA_CERTS: certificate.certPath,
    }),
    setSecret: (name, value) => {
      if (!SECRET_NAME.test(name)) throw new Error(`Not a Key Vault secret name: ${name}`);
      return store(name, value).version;
    },
    setEnabled: (name, version, enabled) => {
      const entry = secrets.get(name)?.find((candidate) => candidate.version === version);
      if (!entry) throw new Error(`No version ${version} of ${name}`);
      entry.enabled = enabled;
      entry.updated = now();
    },
    versions: (name) => (secrets.get(name) ?? []).map((entry) => entry.version),
    requests: () => [...log],
    tokensIssued: () => tokens.size,
    stop: async () => {
      await Promise.all([closeServer(vault), closeServer(identity)]);
    },
  };
}

function latestEnabled(list: SecretVersion[]): SecretVersion | undefined {
  // Azure answers the newest version; a disabled newest version is refused (403) rather than skipped.
  return list[list.length - 1];
}
