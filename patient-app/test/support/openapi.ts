/**
 * Checks real answers against an OpenAPI 3.0 document of patient-app: the status is listed for the
 * route, the content type is one the answer declares, required headers are there, and a JSON body
 * validates against the declared schema (ajv, with OpenAPI's `nullable`; `$ref`s resolve inside
 * the document).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import Ajv from 'ajv';
import { parse } from 'yaml';

export interface OpenApiResponse {
  $ref?: string;
  description?: string;
  headers?: Record<string, { required?: boolean }>;
  content?: Record<string, { schema?: unknown }>;
}

export interface OpenApiOperation {
  operationId?: string;
  security?: unknown[];
  parameters?: { $ref?: string; name?: string; in?: string; required?: boolean }[];
  requestBody?: { $ref?: string };
  responses: Record<string, OpenApiResponse>;
}

export interface OpenApiDocument {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: Record<string, Record<string, unknown>>;
}

/** One answer as a test saw it, with the route as the document names it (`/writes/{instanceId}`). */
export interface SeenAnswer {
  method: string;
  route: string;
  status: number;
  headers: Headers;
  body: unknown;
}

/** The support document's route for a URL or path under `/api/support` (`…/writes/x/purge` → `/writes/{instanceId}/purge`). */
export function supportRouteOf(url: string): string {
  return new URL(url, 'http://x').pathname
    .replace(/^\/api\/support/, '')
    .replace(/^\/writes\/(?!purge$)[^/]+\/(export|restart|terminate|purge)$/, '/writes/{instanceId}/$1')
    .replace(/^\/writes\/(?!purge$)[^/]+$/, '/writes/{instanceId}')
    .replace(/^\/patients\/[^/]+\/erase$/, '/patients/{patientId}/erase');
}

/**
 * A `fetch` that records every answer it gets from the support API (for code that takes a fetch,
 * like the support CLI); the caller still reads the body.
 */
export function recordingFetch(seen: SeenAnswer[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const text = await response.clone().text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    const url = input instanceof Request ? input.url : String(input);
    seen.push({
      method: init?.method ?? 'GET',
      route: supportRouteOf(url),
      status: response.status,
      headers: response.headers,
      body,
    });
    return response;
  };
}

export function loadOpenApi(file: string): OpenApiDocument {
  return parse(readFileSync(path.join(__dirname, '..', '..', file), 'utf8')) as OpenApiDocument;
}

const escape = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/** The object a local `$ref` (`#/components/...`) points at. */
export function dereference<T>(
  document: OpenApiDocument,
  value: T & { $ref?: string },
): { pointer?: string; value: T } {
  if (value.$ref === undefined) return { value };
  const target = value.$ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>(
      (node, key) => (node as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')],
      document,
    );
  if (target === undefined) throw new Error(`${value.$ref} is not in the document`);
  return { pointer: value.$ref, value: target as T };
}

export class OpenApiChecker {
  private readonly ajv = new Ajv({ nullable: true, allErrors: true, format: 'full' });

  constructor(readonly document: OpenApiDocument) {
    this.ajv.addSchema(document, 'document');
  }

  /** A validator for the schema at `pointer` (`#/components/schemas/X`), refs resolved in the document. */
  validator(pointer: string): (value: unknown) => string[] {
    const validate = this.ajv.getSchema(`document${pointer}`);
    if (validate === undefined) throw new Error(`no schema at ${pointer}`);
    return (value) => {
      if (validate(value) === true) return [];
      return (validate.errors ?? []).map(
        (error) => `${error.dataPath || '(body)'} ${error.message ?? 'is invalid'} ${JSON.stringify(error.params)}`,
      );
    };
  }

  /** What is wrong with an answer, by the document (nothing: `[]`). */
  problems(answer: SeenAnswer): string[] {
    const at = `${answer.method.toUpperCase()} ${answer.route} ${answer.status}`;
    const operation = this.document.paths[answer.route]?.[answer.method.toLowerCase()];
    if (operation === undefined) return [`${at}: the route is not documented`];
    const listed = operation.responses[String(answer.status)];
    if (listed === undefined) return [`${at}: the status is not documented`];
    const { pointer, value: response } = dereference(this.document, listed);
    const base = pointer ?? `#/paths/${escape(answer.route)}/${answer.method.toLowerCase()}/responses/${answer.status}`;
    const problems: string[] = [];
    for (const [name, header] of Object.entries(response.headers ?? {}))
      if (header.required === true && !answer.headers.has(name)) problems.push(`${at}: header ${name} is missing`);
    const mediaType = answer.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
    const hasBody = answer.body !== undefined && answer.body !== '';
    if (!hasBody) {
      // The Functions host answers a key it does not know with a 401 of its own, without a body;
      // the app's 401 (another valid key) has the error body.
      if (response.content !== undefined && answer.status !== 401)
        problems.push(`${at}: no body, where the document declares ${Object.keys(response.content).join(', ')}`);
      return problems;
    }
    if (mediaType === undefined || response.content?.[mediaType] === undefined)
      return [...problems, `${at}: content type ${mediaType ?? '(none)'} is not documented`];
    if (response.content[mediaType].schema === undefined) return problems;
    const check = this.validator(`${base}/content/${escape(mediaType)}/schema`);
    return [...problems, ...check(answer.body).map((problem) => `${at}: ${problem}`)];
  }
}
