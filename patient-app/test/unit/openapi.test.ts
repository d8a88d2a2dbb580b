import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type * as Functions from '@azure/functions';
import { HttpRequest } from '@azure/functions';
import { SUPPORT_STATUSES, WRITE_KINDS, WRITE_OUTCOMES } from '@patient-records/orchestrations';
import { ValidationError } from '@patient-records/platform';
import fc from 'fast-check';
import { parse } from 'yaml';

import { actorOf } from '../../src/http/request-context';
import {
  DEFAULT_PAGE_SIZE,
  isInstanceId,
  LIST_QUERY_PARAMETERS,
  MAX_PAGE_SIZE,
  MAX_REASON_LENGTH,
  readListQuery,
  readReason,
} from '../../src/support/support-query';
import { dereference, loadOpenApi, OpenApiChecker } from '../support/openapi';

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

describe('support-openapi.yaml', () => {
  const support = loadOpenApi('support-openapi.yaml');
  const checker = new OpenApiChecker(support);
  const operations = Object.entries(support.paths).flatMap(([p, item]) =>
    Object.entries(item)
      .filter(([method]) => httpMethods.includes(method))
      .map(([method, op]) => ({ path: p, method, op })),
  );
  const actions = operations.filter(({ method }) => method === 'post');
  const parameterOf = (ref: { $ref?: string; name?: string }) =>
    dereference(support, ref).value as { name: string; in: string; required?: boolean; schema: Record<string, unknown> };

  it('is an OpenAPI 3 document served under /api/support', () => {
    expect(support.openapi).toMatch(/^3\./);
    expect(support.servers[0]?.url).toBe('/api/support');
  });

  it('describes every registered support route and method, under the function name, and nothing else', () => {
    const fromCode = registered
      .filter((r) => /^support\//.test(r.route))
      .flatMap((r) => r.methods.map((m) => `${m.toLowerCase()} /${r.route.replace(/^support\//, '')} ${r.name}`))
      .sort();
    expect(fromCode.length).toBeGreaterThanOrEqual(8);
    expect(operations.map(({ path: p, method, op }) => `${method} ${p} ${op.operationId ?? ''}`).sort()).toEqual(fromCode);
  });

  it('marks exactly the anonymous support routes as needing no key, and documents 401 for the others', () => {
    const anonymousInCode = registered.filter((r) => r.authLevel === 'anonymous' && /^support\//.test(r.route)).map((r) => r.name);
    const anonymous = operations.filter(({ op }) => Array.isArray(op.security) && op.security.length === 0);
    expect(anonymous.map(({ op }) => op.operationId)).toEqual(anonymousInCode);
    for (const { op } of operations.filter((o) => !anonymous.includes(o)))
      expect({ operationId: op.operationId, has401: '401' in op.responses }).toEqual({ operationId: op.operationId, has401: true });
  });

  it('gives every action a reason body, the x-caller-user header and the answers the body reader gives', () => {
    expect(actions.length).toBe(6);
    for (const { op } of actions) {
      const headers = (op.parameters ?? []).map(parameterOf).filter((p) => p.in === 'header');
      expect({ operationId: op.operationId, headers: headers.map((h) => [h.name, h.required]) }).toEqual({
        operationId: op.operationId,
        headers: [['x-caller-user', true]],
      });
      expect({ operationId: op.operationId, body: op.requestBody?.$ref }).toEqual({
        operationId: op.operationId,
        body: '#/components/requestBodies/SupportAction',
      });
      expect({ operationId: op.operationId, statuses: Object.keys(op.responses) }).toEqual({
        operationId: op.operationId,
        statuses: expect.arrayContaining(['400', '404', '413', '415', '503']),
      });
    }
  });

  it('documents exactly the list query the code reads, with its limits', () => {
    for (const { op } of operations.filter((o) => o.path === '/writes' || o.path === '/writes/purge')) {
      const query = (op.parameters ?? []).map(parameterOf).filter((p) => p.in === 'query');
      expect(query.map((p) => p.name).sort()).toEqual([...LIST_QUERY_PARAMETERS].sort());
      expect(query.every((p) => p.required === false)).toBe(true);
    }
    const enumOf = (name: string) => (support.components.schemas?.[name] as { enum: string[] }).enum;
    expect(enumOf('SupportStatus')).toEqual([...SUPPORT_STATUSES]);
    expect(enumOf('WriteOutcome')).toEqual([...WRITE_OUTCOMES]);
    expect(enumOf('WriteKind')).toEqual([...WRITE_KINDS]);
    expect(parameterOf({ $ref: '#/components/parameters/PageSize' }).schema).toMatchObject({
      minimum: 1,
      maximum: MAX_PAGE_SIZE,
      default: DEFAULT_PAGE_SIZE,
    });
  });

  it("accepts the query examples it shows, as the code does, and the code refuses what it does not document", () => {
    const now = new Date('2026-12-02T12:00:00Z');
    const examples = new URLSearchParams();
    for (const ref of Object.keys(support.components.parameters ?? {})) {
      const parameter = parameterOf({ $ref: `#/components/parameters/${ref}` }) as {
        name: string;
        in: string;
        example?: string | number | string[];
      };
      if (parameter.in !== 'query' || parameter.example === undefined) continue;
      // A list parameter's example is an array; it is sent comma-separated (style form, explode false).
      examples.set(parameter.name, Array.isArray(parameter.example) ? parameter.example.join(',') : String(parameter.example));
    }
    expect([...examples.keys()].length).toBeGreaterThanOrEqual(5);
    expect(() => readListQuery(examples, now)).not.toThrow();
    expect(() => readListQuery(new URLSearchParams({ undocumented: '1' }), now)).toThrow(ValidationError);
  });

  // The schemas say what the code enforces: any string the code takes, the schema takes, and back.
  it('describes instance ids as the code checks them', () => {
    const schema = checker.validator('#/components/schemas/Id');
    const idLike = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'Z', '0', '_', '.', ':', '-', ' ', '/', 'é', '\n'), maxLength: 130 }),
      fc.string({ maxLength: 8 }),
    );
    fc.assert(fc.property(idLike, (value) => (schema(value).length === 0) === isInstanceId(value)), { numRuns: 500 });
    expect([schema('a'.repeat(128)), schema('a'.repeat(129))].map((p) => p.length === 0)).toEqual([true, false]);
  });

  it('describes the reason of an action as the code checks it', () => {
    const schema = checker.validator('#/components/schemas/SupportAction');
    const accepted = (reason: string): boolean => {
      try {
        readReason({ reason });
        return true;
      } catch {
        return false;
      }
    };
    const reasonLike = fc.string({ unit: fc.constantFrom('a', ' ', '\u00a0', '\t', '\n', '\u007f', 'é', '-'), maxLength: 260 });
    fc.assert(fc.property(reasonLike, (reason) => (schema({ reason }).length === 0) === accepted(reason)), { numRuns: 500 });
    for (const reason of ['ab', ' a b ', 'a'.repeat(MAX_REASON_LENGTH), 'a'.repeat(MAX_REASON_LENGTH + 1), 'two\nlines'])
      expect([reason, schema({ reason }).length === 0]).toEqual([reason, accepted(reason)]);
  });

  it('describes x-caller-user as the code reads it', () => {
    const parameter = parameterOf({ $ref: '#/components/parameters/CallerUser' });
    const pattern = new RegExp(String(parameter.schema['pattern']));
    const userOf = (value: string) =>
      actorOf(new HttpRequest({ method: 'POST', url: 'http://localhost/api/support/writes/x/purge', headers: { 'x-caller-user': value } })).user;
    const userLike = fc.string({ unit: fc.constantFrom('a', 'Z', '9', '_', '.', '@', ':', '+', '-', ' ', '\t', '/', 'é'), maxLength: 132 });
    fc.assert(fc.property(userLike, (value) => pattern.test(value) === (userOf(value) !== undefined)), { numRuns: 500 });
    for (const value of ['a'.repeat(128), 'a'.repeat(129), ' j.smith '])
      expect([value, pattern.test(value)]).toEqual([value, userOf(value) !== undefined]);
  });
});
