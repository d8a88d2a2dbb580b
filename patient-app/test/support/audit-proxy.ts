import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with one audit record on its way to audit-app. */
export type ProxyDecision = 'forward' | 'unavailable';

/**
 * A real HTTP hop between patient-app and audit-app that can make audit-app look unavailable
 * (503) for chosen records, e.g. only the `succeeded` record of a write: the one failure that a
 * stopped audit-app cannot stage precisely. Everything else is forwarded unchanged.
 */
export function useAuditProxy(target: () => string): { url(): string; decide: (record: Record<string, unknown>) => ProxyDecision; seen: Record<string, unknown>[]; setRule(rule: (record: Record<string, unknown>) => ProxyDecision): void } {
  let server: Server | undefined;
  let rule: (record: Record<string, unknown>) => ProxyDecision = () => 'forward';
  const seen: Record<string, unknown>[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        let record: Record<string, unknown> = {};
        try {
          record = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        } catch {
          // not a record: forward as it is
        }
        seen.push(record);
        if (rule(record) === 'unavailable') {
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"injected","message":"unavailable"}}');
          return;
        }
        let origin: string;
        try {
          origin = target();
        } catch {
          // audit-app is stopped: nothing listens behind the proxy.
          res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"code":"bad_gateway","message":"audit-app stopped"}}');
          return;
        }
        const upstream = httpRequest(new URL(req.url ?? '/', origin), { method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        upstream.on('error', () => {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
          res.end('{"error":{"code":"bad_gateway","message":"audit-app unreachable"}}');
        });
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });
  return {
    url: () => `http://127.0.0.1:${(server?.address() as AddressInfo).port}`,
    decide: (record) => rule(record),
    seen,
    setRule: (next) => {
      rule = next;
    },
  };
}
