/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies from the wire */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { fixturesDir, useDevhost, useTempDir, writeHostJson } from './support/devhost';

const tmp = useTempDir();
const { host, logs } = useDevhost(() => ({
  appDir: path.join(fixturesDir, 'http-app'),
  keysFile: path.join(tmp(), 'keys.json'),
  // A host.json of its own proves routePrefix comes from host.json, not a hard-coded "api".
  hostJson: writeHostJson(tmp(), { version: '2.0', extensions: { http: { routePrefix: 'v1' } } }),
  env: { FIXTURE_OVERRIDDEN: 'from-options' },
}));

async function call(
  route: string,
  init: RequestInit = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(`${host().url}${route}`, init);
  return { status: response.status, text: await response.text(), headers: response.headers };
}

async function json(route: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const { status, text, headers } = await call(route, init);
  return { status, body: text ? JSON.parse(text) : undefined, headers };
}

function withKey(key: string, init: RequestInit = {}): RequestInit {
  return { ...init, headers: { ...(init.headers as Record<string, string> | undefined), 'x-functions-key': key } };
}

describe('the worker and its settings', () => {
  it('reports Running on /admin/host/status once every function is registered', async () => {
    const { status, body } = await json('/admin/host/status');
    expect(status).toBe(200);
    expect(body.state).toBe('Running');
    expect(
      host()
        .functions()
        .http.map((fn) => fn.name)
        .sort(),
    ).toEqual(['adminThing', 'boom', 'echo', 'files', 'hello', 'itemByGuid', 'itemById', 'itemSpecial']);
  });

  it('runs the app in its own process, in its folder, with local.settings.json applied under explicit settings', async () => {
    const { status, body } = await json('/v1/hello');
    expect(status).toBe(200);
    expect(host().workerPid()).toEqual(expect.any(Number));
    expect(host().workerPid()).not.toBe(process.pid);
    expect(body.cwd).toBe(path.join(fixturesDir, 'http-app'));
    expect(body.setting).toBe('from-local-settings');
    expect(body.overridden).toBe('from-options');
    expect(body.websiteHostname).toBe(`127.0.0.1:${host().port}`);
  });

  it('hands the incoming traceparent to the function as its trace context', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const { body } = await json('/v1/hello', { headers: { traceparent } });
    expect(body.traceParent).toBe(traceparent);
  });
});

describe('routing', () => {
  it('fills route parameters, optional ones included, and passes the query', async () => {
    expect((await json('/v1/hello/ana?greeting=hi')).body).toMatchObject({ name: 'ana', greeting: 'hi' });
    expect((await json('/v1/hello')).body).toMatchObject({ name: null });
    expect((await json('/v1/HELLO/ana')).status).toBe(200);
  });

  it('chooses between routes by constraint, and prefers a literal segment', async () => {
    expect((await json('/v1/items/42')).body).toEqual({ by: 'int', id: '42' });
    const guid = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
    expect((await json(`/v1/items/${guid}`)).body).toEqual({ by: 'guid', id: guid });
    expect((await json('/v1/items/special')).body).toEqual({ by: 'literal' });
  });

  it('answers 404 when no route matches, a constraint fails, or the prefix is missing', async () => {
    expect((await call('/v1/items/0')).status).toBe(404); // min(1)
    expect((await call('/v1/items/not-a-number')).status).toBe(404);
    expect((await call('/api/hello')).status).toBe(404);
    expect((await call('/v1/nothing-here')).status).toBe(404);
  });

  it('gives a catch-all parameter the rest of the path', async () => {
    expect((await json('/v1/files/a/b/c.txt')).body).toEqual({ path: 'a/b/c.txt' });
  });

  it('serves only the declared methods', async () => {
    expect((await call('/v1/hello', { method: 'POST' })).status).toBe(404);
    expect((await call('/v1/echo', withKey(host().keys().hostKeys.default!, { method: 'GET' }))).status).toBe(404);
    expect(
      (await call('/v1/echo', withKey(host().keys().hostKeys.default!, { method: 'PUT', body: 'x' }))).status,
    ).toBe(201);
  });

  it('passes the raw body and headers in, and the status, headers, cookies and body out', async () => {
    const { status, body, headers } = await json(
      '/v1/echo?x=1',
      withKey(host().keys().hostKeys.default!, {
        method: 'POST',
        body: '{"a": 1}',
        headers: { 'content-type': 'application/json' },
      }),
    );
    expect(status).toBe(201);
    expect(body).toEqual({ body: '{"a": 1}', contentType: 'application/json', query: { x: '1' } });
    expect(headers.get('x-echo-method')).toBe('POST');
    expect(headers.get('set-cookie')).toBe('session=abc; Path=/; HttpOnly');
  });

  it('passes every occurrence of a repeated header, joined, as the Functions host does', async () => {
    // Node's server keeps only the first Content-Type; the app must see the second too, to refuse it.
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = http.request(
        `${host().url}/v1/echo`,
        { method: 'POST', headers: { 'content-type': ['application/json', 'text/plain'], 'x-functions-key': host().keys().hostKeys.default! } },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        },
      );
      request.on('error', reject);
      request.end('{}');
    });
    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.text)).toMatchObject({ contentType: 'application/json, text/plain' });
  });
});

describe('auth levels', () => {
  it('leaves anonymous functions open', async () => {
    expect((await call('/v1/hello')).status).toBe(200);
  });

  it('opens function level with a host key, the function key or the master key, by header or code', async () => {
    const keys = host().keys();
    const post = { method: 'POST', body: 'x' };
    expect((await call('/v1/echo', post)).status).toBe(401);
    expect((await call('/v1/echo', withKey('not-a-key', post))).status).toBe(401);
    expect((await call('/v1/echo', withKey(keys.hostKeys.default!, post))).status).toBe(201);
    expect((await call(`/v1/echo?code=${keys.functionKeys.echo!.default!}`, post)).status).toBe(201);
    expect((await call('/v1/echo', withKey(keys.masterKey, post))).status).toBe(201);
    expect((await call(`/v1/echo?code=${keys.systemKeys.durabletask_extension!}`, post)).status).toBe(401);
  });

  it('opens admin level with the master key only', async () => {
    const keys = host().keys();
    expect((await call('/v1/admin-thing')).status).toBe(401);
    expect((await call('/v1/admin-thing', withKey(keys.hostKeys.default!))).status).toBe(401);
    expect((await call('/v1/admin-thing', withKey(keys.masterKey))).text).toBe('admin ok');
  });
});

describe('the key admin API', () => {
  it('needs the master key', async () => {
    expect((await call('/admin/host/keys')).status).toBe(401);
    expect((await call('/admin/host/keys', withKey(host().keys().hostKeys.default!))).status).toBe(401);
  });

  it('rotates a host key: add a new one beside the old, use it, remove the old', async () => {
    const master = host().masterKey;
    const post = { method: 'POST', body: 'x' };
    const oldKey = 'old-key-0123456789abcdef';
    const newKey = 'new-key-0123456789abcdef';
    const put = (name: string, value: string): Promise<{ status: number; body: any }> =>
      json(
        `/admin/host/keys/${name}`,
        withKey(master, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name, value }),
        }),
      );

    expect(await put('callers', oldKey)).toMatchObject({ status: 201, body: { name: 'callers', value: oldKey } });
    expect((await put('callers-next', newKey)).status).toBe(201);
    expect((await call('/v1/echo', withKey(oldKey, post))).status).toBe(201);
    expect((await call('/v1/echo', withKey(newKey, post))).status).toBe(201);

    const listed = await json('/admin/host/keys', withKey(master));
    expect(listed.body.keys).toEqual(
      expect.arrayContaining([
        { name: 'callers', value: oldKey },
        { name: 'callers-next', value: newKey },
      ]),
    );

    expect((await call('/admin/host/keys/callers', withKey(master, { method: 'DELETE' }))).status).toBe(204);
    expect((await call('/v1/echo', withKey(oldKey, post))).status).toBe(401);
    expect((await call('/v1/echo', withKey(newKey, post))).status).toBe(201);
    expect((await call('/admin/host/keys/callers', withKey(master, { method: 'DELETE' }))).status).toBe(404);

    // Replacing a value answers 200, and the keys survive in the keys file.
    expect((await put('callers-next', `${newKey}-2`)).status).toBe(200);
    const stored = JSON.parse(readFileSync(path.join(tmp(), 'keys.json'), 'utf8'));
    expect(stored.hostKeys).toMatchObject({ 'callers-next': `${newKey}-2` });
    expect(stored.hostKeys.callers).toBeUndefined();
  });

  it('manages per-function keys, which open only their own function', async () => {
    const master = host().masterKey;
    const generated = await json('/admin/functions/echo/keys/partner', withKey(master, { method: 'POST' }));
    expect(generated.status).toBe(201);
    const partnerKey = generated.body.value as string;
    expect(partnerKey.length).toBeGreaterThanOrEqual(40);
    expect((await call('/v1/echo', withKey(partnerKey, { method: 'POST', body: 'x' }))).status).toBe(201);
    expect((await call('/v1/admin-thing', withKey(partnerKey))).status).toBe(401);

    const one = await json('/admin/functions/echo/keys/partner', withKey(master));
    expect(one.body).toMatchObject({ name: 'partner', value: partnerKey });
    const all = await json('/admin/functions/echo/keys', withKey(master));
    expect(all.body.keys.map((key: { name: string }) => key.name).sort()).toEqual(['default', 'partner']);

    expect((await call('/admin/functions/echo/keys/partner', withKey(master, { method: 'DELETE' }))).status).toBe(204);
    expect((await call('/v1/echo', withKey(partnerKey, { method: 'POST', body: 'x' }))).status).toBe(401);
    expect((await call('/admin/functions/nope/keys', withKey(master))).status).toBe(404);
  });

  it('rejects key values that are too short, with a JSON error', async () => {
    const { status, body } = await json(
      '/admin/host/keys/short',
      withKey(host().masterKey, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: '{"value":"abc"}',
      }),
    );
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_key');
  });
});

describe('failures', () => {
  it('answers 500 without details and logs the error with the invocation id', async () => {
    const { status, text } = await call('/v1/boom');
    expect(status).toBe(500);
    expect(text).toBe('');
    const failed = await logs.waitFor(
      (entry) => entry.level === 'error' && entry.message.includes("Executed 'Functions.boom' (Failed"),
    );
    expect(failed.invocationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(failed.message).toContain(`Id=${failed.invocationId ?? ''}`);
    expect(failed.message).toContain('kaboom from the fixture');
  });

  it("keeps the app's own logs with their invocation", async () => {
    const { body } = await json('/v1/hello/zoe');
    const entry = await logs.waitFor((e) => e.category === 'user' && e.message === 'hello called for zoe');
    expect(entry).toMatchObject({ functionName: 'hello', invocationId: body.invocationId });
  });
});
