import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type * as Functions from '@azure/functions';
import { parse } from 'yaml';

interface Registration {
  name: string;
  route: string;
  methods: string[];
  authLevel: string;
}

const registered: Registration[] = [];

// Capture what each function file registers, exactly as the Functions worker would see it.
jest.mock('@azure/functions', () => {
  const actual: typeof Functions = jest.requireActual('@azure/functions');
  return {
    ...actual,
    app: {
      ...actual.app,
      http: (name: string, options: { route: string; methods: string[]; authLevel: string }) => {
        registered.push({ name, route: options.route, methods: options.methods, authLevel: options.authLevel });
      },
    },
  };
});

const functionsDir = path.join(__dirname, '..', '..', 'src', 'functions');
const spec = parse(readFileSync(path.join(__dirname, '..', '..', 'openapi.yaml'), 'utf8')) as {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, Record<string, { operationId?: string; security?: unknown[]; responses?: Record<string, unknown> }>>;
};

beforeAll(() => {
  for (const file of readdirSync(functionsDir).filter((f) => f.endsWith('.ts'))) {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- each function file registers on load
      require(path.join(functionsDir, file));
    });
  }
});

const httpMethods = ['get', 'put', 'post', 'delete', 'patch'];

function documented(): { path: string; method: string; operationId?: string; anonymous: boolean }[] {
  return Object.entries(spec.paths).flatMap(([p, item]) =>
    Object.entries(item)
      .filter(([method]) => httpMethods.includes(method))
      .map(([method, op]) => ({ path: p, method, operationId: op.operationId, anonymous: Array.isArray(op.security) && op.security.length === 0 })),
  );
}

describe('openapi.yaml', () => {
  it('is an OpenAPI 3 document served under /api', () => {
    expect(spec.openapi).toMatch(/^3\./);
    expect(spec.servers[0]?.url).toBe('/api');
  });

  it('describes every registered route and method, under the function name, and nothing else', () => {
    expect(registered.length).toBeGreaterThanOrEqual(10);
    // The support API is a separate APIM product with its own description.
    const fromCode = registered
      .filter((r) => !/^support(\/|$)/.test(r.route))
      .flatMap((r) => r.methods.map((m) => `${m.toLowerCase()} /${r.route} ${r.name}`))
      .sort();
    const fromSpec = documented()
      .map((d) => `${d.method} ${d.path} ${d.operationId ?? ''}`)
      .sort();
    expect(fromSpec).toEqual(fromCode);
  });

  it('marks exactly the anonymous routes as needing no key', () => {
    const anonymousInCode = registered.filter((r) => r.authLevel === 'anonymous' && !/^support(\/|$)/.test(r.route)).map((r) => r.name).sort();
    const anonymousInSpec = documented().filter((d) => d.anonymous).map((d) => d.operationId).sort();
    expect(anonymousInSpec).toEqual(anonymousInCode);
  });

  it('documents 401 for keyed routes, and 202 and 422 for every write (the answers the edge adds)', () => {
    const writes = ['createPatient', 'updatePatient', 'deletePatient', 'createTestResult'];
    for (const { path: p, method, operationId, anonymous } of documented()) {
      const statuses = Object.keys(spec.paths[p]?.[method]?.responses ?? {});
      if (!anonymous) expect({ operationId, has401: statuses.includes('401') }).toEqual({ operationId, has401: true });
      if (writes.includes(operationId ?? '')) expect({ operationId, statuses }).toEqual({ operationId, statuses: expect.arrayContaining(['202', '422', '503']) });
    }
  });
});
