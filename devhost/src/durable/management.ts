/**
 * The Durable Functions HTTP management API (durable-protocol.md §4.3): the paths, query
 * parameters, status codes and JSON shapes of the extension's HttpApiHandler, so the real
 * `DurableClient` from durable-functions works unchanged.
 */
import { randomUUID } from 'node:crypto';

import type { ManagementRequest, ManagementResponse } from './contract';
import { isTerminal, type RuntimeStatus } from './history';
import type { InstanceDocument } from './state';
import { statusPayload } from './status';
import type { TaskHub } from './task-hub';

const runtimeStatuses: readonly RuntimeStatus[] = [
  'Pending',
  'Running',
  'Completed',
  'ContinuedAsNew',
  'Failed',
  'Canceled',
  'Terminated',
  'Suspended',
];
const maxInstanceIdLength = 256;
const maxEventNameLength = 256;

function error(status: number, code: string, message: string): ManagementResponse {
  return { status, body: { error: { code, message } } };
}

/** The host's answer to a start or restart whose instance id is taken by an unfinished instance. */
function instanceExists(existingStatus: string | undefined): ManagementResponse {
  return error(
    409,
    'InstanceExists',
    `An Orchestration instance with the status ${existingStatus ?? 'Running'} already exists.`,
  );
}

function flag(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const value = query.get(name);
  if (value === null || value === '') return fallback;
  return value.toLowerCase() === 'true';
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Ids the extension refuses: a leading `@`, path and query characters, control characters. */
export function invalidInstanceId(id: string): string | undefined {
  if (id.length === 0) return 'The instance ID must not be empty.';
  if (id.length > maxInstanceIdLength)
    return `The instance ID must not be longer than ${maxInstanceIdLength} characters.`;
  if (id.startsWith('@')) return "Orchestration instance IDs must not start with '@'.";
  // eslint-disable-next-line no-control-regex
  if (/[/\\?#\u0000-\u001f\u007f]/.test(id))
    return "The instance ID contains an invalid character: '/', '\\', '?', '#' and control characters are not allowed.";
  return undefined;
}

export class ManagementApi {
  constructor(private readonly hub: TaskHub) {}

  async handle(request: ManagementRequest): Promise<ManagementResponse> {
    const segments = request.path.replace(/^\/+/, '').split('/');
    if (segments[segments.length - 1] === '') segments.pop();
    const decoded = segments.map(decodeSegment);
    if (decoded.some((s) => s === undefined))
      return error(400, 'BadRequest', 'The request path is not valid URL encoding.');
    const parts = decoded as string[];
    const method = request.method.toUpperCase();
    const [root, first, second, third] = parts;

    if (root === 'orchestrators' && first !== undefined && parts.length <= 3) {
      if (method !== 'POST') return error(405, 'MethodNotAllowed', 'Start an orchestration with POST.');
      return this.start(request, first, second);
    }
    if (root === 'instances') {
      if (first === undefined) {
        if (method === 'GET') return this.list(request);
        if (method === 'DELETE') return this.purgeMany(request);
        return error(405, 'MethodNotAllowed', 'Use GET to list instances or DELETE to purge them.');
      }
      if (second === undefined) {
        if (method === 'GET') return this.status(request, first);
        if (method === 'DELETE') return this.purgeOne(first);
        return error(405, 'MethodNotAllowed', 'Use GET for status or DELETE to purge.');
      }
      if (second === 'raiseEvent' && third !== undefined && parts.length === 4) {
        if (method !== 'POST') return error(405, 'MethodNotAllowed', 'Raise an event with POST.');
        return this.raiseEvent(request, first, third);
      }
      if (parts.length === 3 && method === 'POST') {
        switch (second) {
          case 'terminate':
            return this.control(first, 'terminate', request.query.get('reason') ?? '');
          case 'suspend':
            return this.control(first, 'suspend', request.query.get('reason') ?? '');
          case 'resume':
            return this.control(first, 'resume', request.query.get('reason') ?? '');
          case 'rewind':
            return this.rewind(first, request.query.get('reason') ?? '');
          case 'restart':
            return this.restart(request, first);
          default:
            break;
        }
      }
    }
    if (root === 'entities') return error(501, 'NotImplemented', 'Durable entities are not supported by the devhost.');
    return error(404, 'NotFound', `No Durable management operation matches ${method} ${request.path}.`);
  }

  // ---------------------------------------------------------------- start / restart

  private async start(
    request: ManagementRequest,
    functionName: string,
    requestedId: string | undefined,
  ): Promise<ManagementResponse> {
    const instanceId = requestedId ?? randomUUID().replace(/-/g, '');
    const invalid = invalidInstanceId(instanceId);
    if (invalid) return error(400, 'BadRequest', invalid);
    if (!this.hub.registered().orchestrators.includes(functionName)) {
      return error(
        400,
        'BadRequest',
        `The function '${functionName}' doesn't exist, is disabled, or is not an orchestrator function.`,
      );
    }
    let input: string | null = null;
    if (request.body.length > 0) {
      const text = request.body.toString('utf8');
      try {
        JSON.parse(text);
      } catch {
        return error(400, 'BadRequest', 'The request body is not valid JSON.');
      }
      input = text;
    }
    const created = await this.hub.createInstance(instanceId, functionName, input);
    if (!created.ok) {
      return instanceExists(created.existingStatus);
    }
    return this.afterStart(request, instanceId);
  }

  private async restart(request: ManagementRequest, instanceId: string): Promise<ManagementResponse> {
    const doc = await this.hub.getInstance(instanceId);
    if (!doc) return error(404, 'NotFound', `No instance with ID '${instanceId}' was found.`);
    const newId = flag(request.query, 'restartWithNewInstanceId', true) ? randomUUID().replace(/-/g, '') : instanceId;
    const created = await this.hub.createInstance(newId, doc.name, doc.input);
    if (!created.ok) {
      return instanceExists(created.existingStatus);
    }
    return this.checkStatus(request, newId);
  }

  private async afterStart(request: ManagementRequest, instanceId: string): Promise<ManagementResponse> {
    const timeout = request.query.get('timeout');
    if (timeout === null) return this.checkStatus(request, instanceId);
    const seconds = Number(timeout);
    if (!Number.isFinite(seconds) || seconds < 0)
      return error(400, 'BadRequest', 'timeout must be a number of seconds.');
    const doc = await this.hub.waitForCompletion(instanceId, seconds * 1000);
    if (!doc || !isTerminal(doc.status)) return this.checkStatus(request, instanceId);
    if (doc.status === 'Completed') return { status: 200, body: statusPayload(doc, { showInput: false }).output };
    return { status: doc.status === 'Failed' ? 500 : 200, body: statusPayload(doc, { showInput: true }) };
  }

  private links(request: ManagementRequest, instanceId: string): Record<string, string> {
    const base = `${request.links.baseUrl.replace(/\/+$/, '')}/instances/${encodeURIComponent(instanceId)}`;
    const query = request.links.requiredQuery;
    const withQuery = (path: string, own?: string): string => {
      const all = [own, query].filter((q) => q !== undefined && q.length > 0).join('&');
      return all.length > 0 ? `${path}?${all}` : path;
    };
    return {
      id: instanceId,
      statusQueryGetUri: withQuery(base),
      sendEventPostUri: withQuery(`${base}/raiseEvent/{eventName}`),
      terminatePostUri: withQuery(`${base}/terminate`, 'reason={text}'),
      rewindPostUri: withQuery(`${base}/rewind`, 'reason={text}'),
      purgeHistoryDeleteUri: withQuery(base),
      restartPostUri: withQuery(`${base}/restart`),
      suspendPostUri: withQuery(`${base}/suspend`, 'reason={text}'),
      resumePostUri: withQuery(`${base}/resume`, 'reason={text}'),
    };
  }

  private checkStatus(request: ManagementRequest, instanceId: string): ManagementResponse {
    const links = this.links(request, instanceId);
    return {
      status: 202,
      headers: { Location: links.statusQueryGetUri ?? '', 'Retry-After': '10' },
      body: links,
    };
  }

  // ---------------------------------------------------------------- status and list

  private async status(request: ManagementRequest, instanceId: string): Promise<ManagementResponse> {
    const doc = await this.hub.getInstance(instanceId);
    if (!doc) return { status: 404 };
    const showHistory = flag(request.query, 'showHistory', false);
    const showHistoryOutput = flag(request.query, 'showHistoryOutput', false);
    const showInput = flag(request.query, 'showInput', true);
    const history =
      showHistory && doc.status !== 'Pending'
        ? { events: await this.hub.getHistory(doc), showHistoryOutput }
        : undefined;
    const body = statusPayload(doc, { showInput, history });
    if (isTerminal(doc.status)) {
      const failedAs500 = doc.status === 'Failed' && flag(request.query, 'returnInternalServerErrorOnFailure', false);
      return { status: failedAs500 ? 500 : 200, body };
    }
    const location = this.links(request, instanceId).statusQueryGetUri ?? '';
    return { status: 202, headers: { Location: location, 'Retry-After': '5' }, body };
  }

  private async list(request: ManagementRequest): Promise<ManagementResponse> {
    const query = request.query;
    const filter: Record<string, unknown> = {};
    const statusList = query.get('runtimeStatus');
    if (statusList) {
      const wanted = statusList
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      const unknown = wanted.filter((s) => !runtimeStatuses.includes(s as RuntimeStatus));
      if (unknown.length > 0) return error(400, 'BadRequest', `Unknown runtimeStatus value(s): ${unknown.join(', ')}.`);
      filter.status = { $in: wanted };
    }
    const created: Record<string, Date> = {};
    for (const [param, operator] of [
      ['createdTimeFrom', '$gte'],
      ['createdTimeTo', '$lte'],
    ] as const) {
      const value = query.get(param);
      if (value) {
        const date = new Date(value);
        if (Number.isNaN(date.getTime())) return error(400, 'BadRequest', `${param} is not a valid date.`);
        created[operator] = date;
      }
    }
    if (Object.keys(created).length > 0) filter.createdTime = created;
    const prefix = query.get('instanceIdPrefix');
    const top = query.get('top');
    const pageSize = top === null || top === '' ? undefined : Number(top);
    if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize <= 0))
      return error(400, 'BadRequest', 'top must be a positive integer.');
    const token = request.headers['x-ms-continuation-token'];
    let offset = 0;
    if (token) {
      const parsed = Number(Buffer.from(token, 'base64').toString('utf8'));
      if (!Number.isInteger(parsed) || parsed < 0)
        return error(400, 'BadRequest', 'The continuation token is not valid.');
      offset = parsed;
    }
    // Instance documents are written behind the episodes: the query must see them all.
    await this.hub.settled();
    let docs: InstanceDocument[] = await this.hub.collections.instances
      .find(filter)
      .sort({ createdTime: 1, _id: 1 })
      .toArray();
    if (prefix) docs = docs.filter((d) => d._id.startsWith(prefix));
    const page = pageSize === undefined ? docs.slice(offset) : docs.slice(offset, offset + pageSize);
    const showInput = flag(query, 'showInput', false);
    const headers: Record<string, string> = {};
    const next = offset + page.length;
    if (pageSize !== undefined && next < docs.length)
      headers['x-ms-continuation-token'] = Buffer.from(String(next)).toString('base64');
    return { status: 200, headers, body: page.map((doc) => statusPayload(doc, { showInput })) };
  }

  // ---------------------------------------------------------------- events and control

  private async raiseEvent(
    request: ManagementRequest,
    instanceId: string,
    eventName: string,
  ): Promise<ManagementResponse> {
    if (eventName.length === 0 || eventName.length > maxEventNameLength)
      return error(400, 'BadRequest', 'The event name is not valid.');
    const doc = await this.hub.getInstance(instanceId);
    if (!doc) return error(404, 'NotFound', `No instance with ID '${instanceId}' was found.`);
    if (isTerminal(doc.status))
      return error(410, 'Gone', `The instance '${instanceId}' has already finished (${doc.status}).`);
    const contentType = (request.headers['content-type'] ?? '').toLowerCase();
    if (!contentType.includes('application/json'))
      return error(400, 'BadRequest', "Only 'application/json' request content is supported for raising events.");
    let input: string | null = null;
    if (request.body.length > 0) {
      const text = request.body.toString('utf8');
      try {
        JSON.parse(text);
      } catch {
        return error(400, 'BadRequest', 'The request body is not valid JSON.');
      }
      input = text;
    }
    await this.hub.post(instanceId, { kind: 'event', name: eventName, input });
    return { status: 202 };
  }

  private async control(
    instanceId: string,
    kind: 'terminate' | 'suspend' | 'resume',
    reason: string,
  ): Promise<ManagementResponse> {
    const doc = await this.hub.getInstance(instanceId);
    if (!doc) return error(404, 'NotFound', `No instance with ID '${instanceId}' was found.`);
    if (isTerminal(doc.status))
      return error(410, 'Gone', `The instance '${instanceId}' has already finished (${doc.status}).`);
    await this.hub.post(instanceId, { kind, reason });
    return { status: 202 };
  }

  private async rewind(instanceId: string, reason: string): Promise<ManagementResponse> {
    const doc = await this.hub.getInstance(instanceId);
    if (!doc) return error(404, 'NotFound', `No instance with ID '${instanceId}' was found.`);
    if (doc.status === 'Completed' || doc.status === 'Terminated' || doc.status === 'Canceled') {
      return error(
        410,
        'Gone',
        `The instance '${instanceId}' has finished as ${doc.status}; only failed instances can be rewound.`,
      );
    }
    if (doc.status !== 'Failed')
      return error(
        412,
        'PreconditionFailed',
        `The instance '${instanceId}' is ${doc.status}; only failed instances can be rewound.`,
      );
    const rewound = await this.hub.rewind(instanceId, reason);
    if (!rewound) return error(412, 'PreconditionFailed', `The instance '${instanceId}' is no longer failed.`);
    return { status: 202 };
  }

  // ---------------------------------------------------------------- purge

  private async purgeOne(instanceId: string): Promise<ManagementResponse> {
    const deleted = await this.hub.purge(instanceId);
    if (!deleted) return { status: 404 };
    return { status: 200, body: { instancesDeleted: 1 } };
  }

  private async purgeMany(request: ManagementRequest): Promise<ManagementResponse> {
    const query = request.query;
    const from = query.get('createdTimeFrom');
    if (!from) return error(400, 'BadRequest', 'createdTimeFrom is required to purge instances.');
    const filter: Record<string, unknown> = {};
    const created: Record<string, Date> = {};
    for (const [param, operator] of [
      ['createdTimeFrom', '$gte'],
      ['createdTimeTo', '$lte'],
    ] as const) {
      const value = query.get(param);
      if (value) {
        const date = new Date(value);
        if (Number.isNaN(date.getTime())) return error(400, 'BadRequest', `${param} is not a valid date.`);
        created[operator] = date;
      }
    }
    filter.createdTime = created;
    const statusList = query.get('runtimeStatus');
    if (statusList) filter.status = { $in: statusList.split(',').map((s) => s.trim()) };
    await this.hub.settled();
    const docs = await this.hub.collections.instances.find(filter).project<{ _id: string }>({ _id: 1 }).toArray();
    let deleted = 0;
    for (const doc of docs) if (await this.hub.purge(doc._id)) deleted += 1;
    if (deleted === 0) return { status: 404 };
    return { status: 200, body: { instancesDeleted: deleted } };
  }
}
