import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';

import {
  contextFromCarrier,
  currentTraceCarrier,
  isTraceCarrier,
  operationIdOf,
  outgoingTraceHeaders,
  parseTraceparent,
  redact,
  REDACTED,
  redactUrl,
  startTelemetry,
  traceActivity,
  traceHttpRequest,
} from '../../src/telemetry';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('parses valid traceparents and refuses invalid ones', () => {
  expect(parseTraceparent(TRACEPARENT)).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true });
  expect(operationIdOf(TRACEPARENT)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  for (const bad of [undefined, null, '', 'nonsense', `ff-${TRACEPARENT.slice(3)}`, '00-00000000000000000000000000000000-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01']) {
    expect(parseTraceparent(bad)).toBeUndefined();
  }
});

test('a carrier survives JSON and becomes the parent context again', () => {
  const carrier = JSON.parse(JSON.stringify({ traceparent: TRACEPARENT, tracestate: 'apim=1' })) as unknown;
  expect(isTraceCarrier(carrier)).toBe(true);
  expect(isTraceCarrier({ traceparent: 'x' })).toBe(false);
  const restored = contextFromCarrier(carrier as { traceparent: string; tracestate: string });
  expect(currentTraceCarrier(restored)).toEqual({ traceparent: TRACEPARENT, tracestate: 'apim=1' });
  expect(currentTraceCarrier(ROOT_CONTEXT)).toBeUndefined();
  expect(contextFromCarrier(undefined)).toBe(ROOT_CONTEXT);
});

test('with telemetry off, nothing is sent but the trace context still flows from request to activity', async () => {
  const telemetry = startTelemetry({ roleName: 'patient-app', env: {} });
  expect(telemetry.enabled).toBe(false);
  const handler = traceHttpRequest('api/patient', () => Promise.resolve({ status: 202, carrier: currentTraceCarrier() }));
  const response = await handler({ method: 'post', url: 'http://x/api/patient', headers: { get: (name) => (name === 'traceparent' ? TRACEPARENT : null) } }, { invocationId: 'inv-1' });
  expect(operationIdOf(response.carrier?.traceparent)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  // Uninstrumented, an outgoing call carries the trace context by hand.
  expect(outgoingTraceHeaders({ traceparent: TRACEPARENT, tracestate: 'a=1' })).toEqual({ traceparent: TRACEPARENT, tracestate: 'a=1' });
  const seen = await traceActivity({ name: 'persist', instanceId: 'i-1', trace: { traceparent: TRACEPARENT } }, () =>
    Promise.resolve(trace.getSpanContext(context.active())?.traceId),
  );
  expect(seen).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  await expect(traceActivity({ name: 'fails', instanceId: 'i-1' }, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
});

test('redact hides personal and secret fields at any depth and strips URL queries', () => {
  const redacted = redact({
    id: 'p-1',
    firstName: 'Zebedee',
    last_name: 'Quillfeather',
    contact: { email: 'z@example.test', phoneNumber: '0123' },
    tests: [{ observations: [{ value: 5 }] }],
    headers: { 'x-functions-key': 'k', authorization: 'Bearer t' },
    auditApiKey: 'secret',
    link: 'https://user:pw@host/api/operations/1?code=abc#x',
    error: new Error('bad'),
  });
  expect(redacted).toEqual({
    id: 'p-1',
    firstName: REDACTED,
    last_name: REDACTED,
    contact: { email: REDACTED, phoneNumber: REDACTED },
    tests: [{ observations: REDACTED }],
    headers: { 'x-functions-key': REDACTED, authorization: REDACTED },
    auditApiKey: REDACTED,
    link: 'https://host/api/operations/1',
    error: { name: 'Error', message: 'bad' },
  });
  expect(redact({ diagnosis: 'x' }, ['diagnosis'])).toEqual({ diagnosis: REDACTED });
  expect(redactUrl('/api/x?code=1')).toBe('/api/x');
});
