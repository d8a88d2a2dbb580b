import { HttpRequest } from '@azure/functions';

import { BadRequestError, PayloadTooLargeError, readJsonBody, UnsupportedMediaTypeError } from '../../src/http';

function post(body: string | undefined, headers: Record<string, string> = { 'content-type': 'application/json' }): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: 'http://localhost/api/thing',
    headers,
    ...(body === undefined ? {} : { body: { string: body } }),
  });
}

describe('readJsonBody', () => {
  it('parses a JSON object', async () => {
    await expect(readJsonBody(post('{"a":1,"b":["x"]}'))).resolves.toEqual({ a: 1, b: ['x'] });
  });

  it('accepts a charset parameter and +json media types', async () => {
    await expect(readJsonBody(post('{"a":1}', { 'content-type': 'application/json; charset=utf-8' }))).resolves.toEqual({ a: 1 });
    await expect(readJsonBody(post('{"a":1}', { 'content-type': 'application/merge-patch+json' }))).resolves.toEqual({ a: 1 });
  });

  it('refuses a declared length over the limit before reading anything', async () => {
    const request = post('{}', { 'content-type': 'application/json', 'content-length': '1025' });
    await expect(readJsonBody(request, { maxBytes: 1024 })).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(request.bodyUsed).toBe(false);
  });

  it('refuses a body over the limit even when no length is declared', async () => {
    const big = JSON.stringify({ text: 'x'.repeat(2000) });
    const error = await readJsonBody(post(big), { maxBytes: 1024 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as PayloadTooLargeError).status).toBe(413);
    expect((error as PayloadTooLargeError).details).toEqual({ limitBytes: 1024 });
  });

  it('accepts a body exactly at the limit', async () => {
    const body = JSON.stringify({ t: 'x'.repeat(100) });
    await expect(readJsonBody(post(body), { maxBytes: Buffer.byteLength(body) })).resolves.toEqual({ t: 'x'.repeat(100) });
  });

  it('refuses another content type with 415, before reading the body', async () => {
    const request = post('a=1', { 'content-type': 'application/x-www-form-urlencoded' });
    await expect(readJsonBody(request)).rejects.toBeInstanceOf(UnsupportedMediaTypeError);
    expect(request.bodyUsed).toBe(false);
  });

  it('refuses a body without a content type with 415', async () => {
    await expect(readJsonBody(post('{"a":1}', {}))).rejects.toMatchObject({ status: 415, code: 'unsupported_media_type' });
  });

  it('answers a missing body with 400 body_required', async () => {
    await expect(readJsonBody(post(undefined))).rejects.toMatchObject({ status: 400, code: 'body_required' });
    await expect(readJsonBody(post(undefined, {}))).rejects.toMatchObject({ status: 400, code: 'body_required' });
  });

  it('answers malformed JSON with 400 invalid_json, without echoing the input', async () => {
    const error = await readJsonBody(post('{"name": "Alice Smith",')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_json' });
    expect((error as Error).message).not.toContain('Alice');
  });

  it('answers invalid UTF-8 with 400 invalid_json', async () => {
    const request = new HttpRequest({
      method: 'POST',
      url: 'http://localhost/api/thing',
      headers: { 'content-type': 'application/json' },
      body: { bytes: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) },
    });
    await expect(readJsonBody(request)).rejects.toMatchObject({ status: 400, code: 'invalid_json' });
  });

  it.each(['"\\ud800"', '"a\\udc00b"', '"\\udc00\\ud800"', '{"\\ud83d":1}', '["ok",{"b":"\\udfff"}]'])(
    'refuses a lone surrogate escape, in a value or a key at any depth: %s',
    async (value) => {
      // UTF-8 cannot carry one: the store and the payload cipher would turn it into U+FFFD.
      await expect(readJsonBody(post(`{"a":${value}}`))).rejects.toMatchObject({ status: 400, code: 'invalid_json' });
    },
  );

  it('accepts a surrogate pair escape (an emoji) and keeps it', async () => {
    await expect(readJsonBody(post('{"a":"\\ud83d\\ude00 \\u00e9"}'))).resolves.toEqual({ a: '\u{1F600} é' });
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses the prototype-changing key %s at any depth', async (key) => {
    await expect(readJsonBody(post(`{"a":{"${key}":{"polluted":true}}}`))).rejects.toMatchObject({ status: 400, code: 'invalid_json' });
  });
});
