import type { IncomingMessage, ServerResponse } from 'node:http';

import type { DurableEngine, ManagementResponse } from '../durable/contract';
import { requiredQueryString } from './durable-client';
import { KeyError, type KeyScope, type KeyStore } from './keys';
import type { DevhostLog } from './log';
import type { InvocationInput, RpcHttpCookie, RpcHttpData } from './protocol';
import { compareRoutePrecedence } from './routes';
import type { AppRuntime } from './runtime';
import { WorkerUnavailableError } from './worker-process';

/** The Functions host's default request size limit (100 MB). */
const MAX_REQUEST_BYTES = 100 * 1024 * 1024;
/** How long an HTTP request waits for a reloading worker before the host answers 503. */
const RELOAD_WAIT_MS = 30_000;
const WEBHOOK_BASE = '/runtime/webhooks/durabletask';

export interface HttpHostContext {
  appName: string;
  hubName: string;
  runtime: AppRuntime;
  keys: KeyStore;
  engine(): DurableEngine | undefined;
  /** The durableClient input for a function that declares one. */
  durableClientInput(bindingName: string): InvocationInput;
  /** The public webhook base (`http://127.0.0.1:<port>/runtime/webhooks/durabletask`). */
  webhookBaseUrl(): string;
  log: DevhostLog;
  startedAt: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_REQUEST_BYTES) {
      reject(new HttpError(413, 'request_too_large', `The request body exceeds ${MAX_REQUEST_BYTES} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        reject(new HttpError(413, 'request_too_large', `The request body exceeds ${MAX_REQUEST_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

/**
 * Request headers as the worker sees them: one value per name, every occurrence of a repeated header
 * joined, as the Functions host does. (`req.headers` keeps only the first Content-Type, Authorization,
 * If-Modified-Since and a few more, which would hide a duplicate from the app.)
 */
function flatHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values === undefined) continue;
    headers[name] = values.join(name === 'cookie' ? '; ' : ', ');
  }
  return headers;
}

function presentedKey(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers['x-functions-key'];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  return fromHeader ?? url.searchParams.get('code') ?? undefined;
}

function splitPath(pathname: string): string[] {
  const segments = pathname.split('/').slice(1);
  if (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();
  try {
    return segments.map((segment) => decodeURIComponent(segment));
  } catch {
    throw new HttpError(400, 'bad_path', 'The request path is not valid percent-encoding');
  }
}

function formatCookie(cookie: RpcHttpCookie): string {
  const parts = [`${cookie.name ?? ''}=${cookie.value ?? ''}`];
  if (cookie.domain?.value) parts.push(`Domain=${cookie.domain.value}`);
  if (cookie.path?.value) parts.push(`Path=${cookie.path.value}`);
  const expires = cookie.expires?.value?.seconds;
  if (typeof expires === 'number') parts.push(`Expires=${new Date(expires * 1000).toUTCString()}`);
  if (typeof cookie.maxAge?.value === 'number') parts.push(`Max-Age=${cookie.maxAge.value}`);
  if (cookie.secure?.value) parts.push('Secure');
  if (cookie.httpOnly?.value) parts.push('HttpOnly');
  const sameSite = String(cookie.sameSite ?? '').toLowerCase();
  if (sameSite === 'lax') parts.push('SameSite=Lax');
  else if (sameSite === 'strict') parts.push('SameSite=Strict');
  else if (sameSite === 'explicitnone') parts.push('SameSite=None');
  return parts.join('; ');
}

function writeFunctionResponse(res: ServerResponse, http: RpcHttpData | null | undefined): void {
  if (!http) {
    res.writeHead(204);
    res.end();
    return;
  }
  const status = Number(http.statusCode ?? 200) || 200;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(http.headers ?? {})) headers[name] = value;
  const cookies = (http.cookies ?? []).map(formatCookie);
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  const body = http.body?.bytes
    ? Buffer.from(http.body.bytes)
    : http.body?.string !== undefined && http.body.string !== null
      ? Buffer.from(http.body.string)
      : Buffer.alloc(0);
  if (!('content-length' in headers) && status !== 204 && status !== 304)
    headers['content-length'] = String(body.length);
  res.writeHead(status, headers);
  res.end(body);
}

/** The main listener: admin API, Durable webhooks, HTTP triggers. */
export function createRequestHandler(context: HttpHostContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(context, req, res).catch((error: unknown) => {
      if (error instanceof HttpError) {
        if (!res.headersSent) sendError(res, error.status, error.code, error.message);
        else res.destroy();
        return;
      }
      context.log({
        level: 'error',
        message: `The host failed to serve ${req.method ?? ''} ${req.url ?? ''}: ${(error as Error).stack ?? String(error)}`,
      });
      if (!res.headersSent) sendError(res, 500, 'host_error', 'The host could not serve this request');
      else res.destroy();
    });
  };
}

async function handle(context: HttpHostContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
  const method = (req.method ?? 'GET').toUpperCase();
  const path = url.pathname;

  if (path === '/' && (method === 'GET' || method === 'HEAD')) {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(
      `Your Functions app "${context.appName}" is running on the devhost. Host state: ${context.runtime.state}\n`,
    );
    return;
  }
  if (path === '/admin/host/ping') {
    res.writeHead(200);
    res.end();
    return;
  }
  if (path === '/admin/host/status' && method === 'GET') {
    const state = context.runtime.state;
    sendJson(res, 200, {
      id: context.appName,
      state,
      version: '4.x (devhost)',
      processUptime: Date.now() - context.startedAt,
      ...(state === 'Error' && context.runtime.lastError ? { errors: [context.runtime.lastError] } : {}),
    });
    return;
  }
  if (path.startsWith('/admin/')) {
    requireMaster(context, req, url);
    const body = await readBody(req);
    serveAdmin(context, method, splitPath(path), url, body, res);
    return;
  }
  if (path === WEBHOOK_BASE || path.startsWith(`${WEBHOOK_BASE}/`)) {
    const key = context.keys.classify(presentedKey(req, url));
    if (key !== 'master' && key !== 'system')
      throw new HttpError(
        401,
        'unauthorized',
        'The Durable management API needs the master key or the durabletask_extension system key',
      );
    const body = await readBody(req);
    const origin = `http://${req.headers.host ?? '127.0.0.1'}`;
    await serveManagement(
      context,
      req,
      res,
      url,
      path.slice(WEBHOOK_BASE.length).replace(/^\/+/, ''),
      body,
      `${origin}${WEBHOOK_BASE}`,
    );
    return;
  }
  await serveTrigger(context, req, res, url, method);
}

function requireMaster(context: HttpHostContext, req: IncomingMessage, url: URL): void {
  if (context.keys.classify(presentedKey(req, url)) !== 'master')
    throw new HttpError(401, 'unauthorized', 'The admin API needs the master key');
}

/** The Durable management API, on the public webhook base or the loopback rpc base. */
export async function serveManagement(
  context: HttpHostContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  relativePath: string,
  body: Buffer,
  linkBase: string,
): Promise<void> {
  const engine = context.engine();
  if (!engine)
    throw new HttpError(
      404,
      'not_found',
      'This app has no Durable Functions, so the Durable management API is not served',
    );
  const query = new URLSearchParams(url.searchParams);
  query.delete('code');
  const response: ManagementResponse = await engine.handle({
    method: (req.method ?? 'GET').toUpperCase(),
    path: relativePath,
    query,
    headers: flatHeaders(req),
    body,
    links: { baseUrl: linkBase, requiredQuery: requiredQueryString(context.hubName, context.keys.systemKey) },
  });
  if (response.body === undefined) {
    res.writeHead(response.status, { 'content-length': '0', ...response.headers });
    res.end();
  } else {
    sendJson(res, response.status, response.body, response.headers);
  }
}

/** The loopback rpc listener the DurableClient calls (`rpcBaseUrl`), unauthenticated as in the extension. */
export function createRpcHandler(context: HttpHostContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const run = async (): Promise<void> => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (!url.pathname.startsWith('/durabletask/')) throw new HttpError(404, 'not_found', 'Not a Durable rpc path');
      const body = await readBody(req);
      await serveManagement(
        context,
        req,
        res,
        url,
        url.pathname.slice('/durabletask/'.length),
        body,
        context.webhookBaseUrl(),
      );
    };
    run().catch((error: unknown) => {
      if (error instanceof HttpError) {
        sendError(res, error.status, error.code, error.message);
        return;
      }
      context.log({
        level: 'error',
        message: `The Durable rpc endpoint failed on ${req.method ?? ''} ${req.url ?? ''}: ${(error as Error).stack ?? String(error)}`,
      });
      if (!res.headersSent) sendError(res, 500, 'host_error', 'The Durable engine could not serve this request');
      else res.destroy();
    });
  };
}

async function serveTrigger(
  context: HttpHostContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  method: string,
): Promise<void> {
  const segments = splitPath(url.pathname);
  if (context.runtime.state !== 'Running' && !(await context.runtime.waitUntilRunning(RELOAD_WAIT_MS))) {
    throw new HttpError(503, 'host_unavailable', `The app is not running (host state ${context.runtime.state})`);
  }
  const functions = context.runtime.functions?.http ?? [];
  const candidates = [...functions].sort((a, b) => compareRoutePrecedence(a.route, b.route));
  let target: (typeof functions)[number] | undefined;
  let params: Record<string, string> | undefined;
  for (const candidate of candidates) {
    if (candidate.methods && !candidate.methods.includes(method)) continue;
    const values = candidate.route.match(segments);
    if (values) {
      target = candidate;
      params = values;
      break;
    }
  }
  if (!target || !params) {
    res.writeHead(404, { 'content-length': '0' });
    res.end();
    return;
  }
  if (target.authLevel !== 'anonymous') {
    const key = context.keys.classify(presentedKey(req, url), target.name);
    const allowed =
      target.authLevel === 'admin' ? key === 'master' : key === 'master' || key === 'host' || key === 'function';
    if (!allowed) {
      res.writeHead(401, { 'content-length': '0' });
      res.end();
      return;
    }
  }
  const body = await readBody(req);
  const query: Record<string, string> = {};
  for (const name of new Set(url.searchParams.keys())) query[name] = url.searchParams.getAll(name).join(',');
  const http: RpcHttpData = {
    method,
    url: url.toString(),
    headers: flatHeaders(req),
    query,
    params,
    body: { bytes: body },
  };
  const inputData: InvocationInput[] = [{ name: target.triggerBinding, data: { http } }];
  const clientBinding = context.runtime.functions?.durableClientBindings.get(target.name);
  if (clientBinding) inputData.push(context.durableClientInput(clientBinding));
  const traceParent = req.headers.traceparent;
  const traceState = req.headers.tracestate;
  const traceContext = {
    ...(typeof traceParent === 'string' ? { traceParent } : {}),
    ...(typeof traceState === 'string' ? { traceState } : {}),
  };

  let invocation;
  try {
    invocation = await context.runtime.invoke(target.name, inputData, {
      reason: `This function was programmatically called via the host APIs.`,
      traceContext,
    });
  } catch (error) {
    if (error instanceof WorkerUnavailableError)
      throw new HttpError(503, 'host_unavailable', 'The app is restarting; try again');
    throw error;
  }
  if (!invocation.result.ok) {
    // As in Azure: the caller learns only that it failed; the log has the error and invocation id.
    res.writeHead(500, { 'content-length': '0' });
    res.end();
    return;
  }
  writeFunctionResponse(res, invocation.result.response.returnValue?.http);
}

function keyLinks(href: string): { rel: string; href: string }[] {
  return [{ rel: 'self', href }];
}

function parseKeyBody(body: Buffer): string | undefined {
  if (body.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid_json', 'The body must be JSON: {"name": "...", "value": "..."}');
  }
  const value = parsed !== null && typeof parsed === 'object' ? (parsed as { value?: unknown }).value : undefined;
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, 'invalid_key', '"value" must be a string');
  return value;
}

/**
 * The Functions host key admin API (master key only):
 * `/admin/host/keys[/{name}]`, `/admin/host/systemkeys[/{name}]`, `/admin/functions/{fn}/keys[/{name}]`
 * with GET (read), PUT (set a value: 201 created, 200 replaced), POST (generate), DELETE (204).
 */
function serveAdmin(
  context: HttpHostContext,
  method: string,
  segments: string[],
  url: URL,
  body: Buffer,
  res: ServerResponse,
): void {
  const [, area, second, third, fourth, ...extra] = segments;
  if (extra.length > 0) throw new HttpError(404, 'not_found', 'Unknown admin path');
  let scope: KeyScope;
  let name: string | undefined;
  if (area === 'host' && (second === 'keys' || second === 'systemkeys') && fourth === undefined) {
    scope = second === 'keys' ? { kind: 'host' } : { kind: 'system' };
    name = third;
  } else if (area === 'functions' && second === undefined && method === 'GET') {
    const functions = context.runtime.functions?.all ?? [];
    sendJson(
      res,
      200,
      functions.map((fn) => ({
        name: fn.name,
        config: {
          bindings: Object.entries(fn.bindings).map(([bindingName, binding]) => ({ ...binding, name: bindingName })),
        },
      })),
    );
    return;
  } else if (area === 'functions' && second !== undefined && third === 'keys') {
    if (!context.runtime.functions?.all.some((fn) => fn.name === second))
      throw new HttpError(404, 'not_found', `No function named "${second}"`);
    scope = { kind: 'function', functionName: second };
    name = fourth;
  } else {
    throw new HttpError(404, 'not_found', 'Unknown admin path');
  }
  const self = `${url.origin}${url.pathname}`;
  if (name === undefined) {
    if (method !== 'GET') throw new HttpError(405, 'method_not_allowed', 'Use GET to list keys');
    sendJson(res, 200, { keys: context.keys.list(scope), links: keyLinks(self) });
    return;
  }
  try {
    switch (method) {
      case 'GET': {
        const value = context.keys.get(scope, name);
        if (value === undefined) throw new HttpError(404, 'not_found', `No key named "${name}"`);
        sendJson(res, 200, { name, value, links: keyLinks(self) });
        return;
      }
      case 'PUT':
      case 'POST': {
        const value = method === 'PUT' ? parseKeyBody(body) : undefined;
        if (method === 'PUT' && value === undefined)
          throw new HttpError(
            400,
            'invalid_key',
            'PUT needs a body {"name": "...", "value": "..."}; POST generates a value',
          );
        const saved = context.keys.set(scope, name, value);
        context.log({
          level: 'information',
          message: `Key "${name}" ${saved.created ? 'created' : 'updated'} (${scope.kind === 'function' ? `function ${scope.functionName}` : scope.kind})`,
        });
        sendJson(res, saved.created ? 201 : 200, { name, value: saved.value, links: keyLinks(self) });
        return;
      }
      case 'DELETE': {
        if (!context.keys.delete(scope, name)) throw new HttpError(404, 'not_found', `No key named "${name}"`);
        context.log({
          level: 'information',
          message: `Key "${name}" deleted (${scope.kind === 'function' ? `function ${scope.functionName}` : scope.kind})`,
        });
        res.writeHead(204);
        res.end();
        return;
      }
      default:
        throw new HttpError(405, 'method_not_allowed', `${method} is not supported on keys`);
    }
  } catch (error) {
    if (error instanceof KeyError) throw new HttpError(400, 'invalid_key', error.message);
    throw error;
  }
}
