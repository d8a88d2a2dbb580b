import https from 'node:https';
import { gzipSync } from 'node:zlib';

import { type FakeIngestion, type LocalCertificate, localCertificate, startFakeIngestion } from '../src/fakes';

// The local ingestion endpoint accepts what the Application Insights exporter may send: a JSON
// array or newline-delimited JSON, plain or gzip, on /v2/track and /v2.1/track.

let certificate: LocalCertificate;
let ingestion: FakeIngestion;

beforeAll(async () => {
  certificate = await localCertificate();
  ingestion = await startFakeIngestion({ certificate });
});

afterAll(async () => {
  await ingestion.stop();
});

function post(path: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.request(new URL(path, ingestion.url), { method: 'POST', ca: certificate.cert, headers: { 'content-type': 'application/json', ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }); });
    });
    request.on('error', reject);
    request.end(body);
  });
}

const envelope = (name: string): Record<string, unknown> => ({ name: 'Microsoft.ApplicationInsights.Event', time: new Date().toISOString(), data: { baseType: 'EventData', baseData: { name } } });

test('records JSON arrays, gzip and newline-delimited JSON, and answers like Breeze', async () => {
  ingestion.clear();
  const plain = await post('/v2.1/track', Buffer.from(JSON.stringify([envelope('a'), envelope('b')])));
  expect(plain.status).toBe(200);
  expect(JSON.parse(plain.body)).toMatchObject({ itemsReceived: 2, itemsAccepted: 2, errors: [] });
  await post('/v2/track', gzipSync(JSON.stringify([envelope('c')])), { 'content-encoding': 'gzip' });
  await post('/v2/track', Buffer.from(`${JSON.stringify(envelope('d'))}\n${JSON.stringify(envelope('e'))}\n`));

  const all = await ingestion.waitFor((items) => items.length >= 5, 5_000);
  expect(all.map((item) => item.data?.baseData?.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
  expect(ingestion.rawBodies().join('\n')).toContain('"c"');
});

test('refuses other paths, and waitFor rejects when telemetry does not arrive', async () => {
  expect((await post('/somewhere', Buffer.from('[]'))).status).toBe(404);
  await expect(ingestion.waitFor((items) => items.length > 1000, 50)).rejects.toThrow(/not received/);
});

test('its environment keeps an app on loopback', () => {
  const env = ingestion.env();
  expect(env.APPLICATIONINSIGHTS_CONNECTION_STRING).toContain(`IngestionEndpoint=${ingestion.url}`);
  expect(env.NODE_EXTRA_CA_CERTS).toBe(certificate.certPath);
  expect(env.APPLICATION_INSIGHTS_NO_STATSBEAT).toBe('true');
  expect(env.HTTPS_PROXY).toMatch(/^http:\/\/127\.0\.0\.1:/);
});
