/**
 * Messages between the host (parent process) and the app's worker process, over Node's IPC channel
 * with `advanced` serialisation (so bodies travel as bytes). The worker speaks to the app through the
 * `@azure/functions-core` contract exactly as the Azure Functions Node worker does; these messages
 * stand in for the worker's gRPC stream to the Functions host.
 */

/** RpcTypedData as the `@azure/functions` library reads and writes it (one field set). */
export interface RpcTypedData {
  string?: string | null;
  json?: string | null;
  bytes?: Uint8Array | null;
  int?: number | null;
  double?: number | null;
  http?: RpcHttpData | null;
}

/** The `http` member of RpcTypedData, for both requests and responses. */
export interface RpcHttpData {
  method?: string | null;
  url?: string | null;
  headers?: Record<string, string> | null;
  query?: Record<string, string> | null;
  params?: Record<string, string> | null;
  body?: RpcTypedData | null;
  statusCode?: string | null;
  cookies?: RpcHttpCookie[] | null;
  enableContentNegotiation?: boolean | null;
}

export interface RpcHttpCookie {
  name?: string | null;
  value?: string | null;
  domain?: { value?: string | null } | null;
  path?: { value?: string | null } | null;
  expires?: { value?: { seconds?: number | null } | null } | null;
  secure?: { value?: boolean | null } | null;
  httpOnly?: { value?: boolean | null } | null;
  sameSite?: string | number | null;
  maxAge?: { value?: number | null } | null;
}

/** One binding of a registered function, as `@azure/functions` builds it (options copied flat). */
export interface BindingInfo {
  type: string;
  direction: 'in' | 'out' | 'inout';
  [option: string]: unknown;
}

/** What a `registerFunction` call carried, minus the callback. */
export interface FunctionRegistration {
  name: string;
  bindings: Record<string, BindingInfo>;
  retryOptions?: unknown;
}

export interface InvocationInput {
  name: string;
  data: RpcTypedData;
}

export interface InvocationResponse {
  returnValue?: RpcTypedData | null;
  outputData?: { name: string; data: RpcTypedData }[];
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type ToWorker =
  | {
      type: 'invoke';
      id: number;
      functionName: string;
      invocationId: string;
      inputData: InvocationInput[];
      traceContext?: { traceParent?: string; traceState?: string; attributes?: Record<string, string> };
    }
  | { type: 'shutdown' };

export type LogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical' | 'none';

export type FromWorker =
  | { type: 'ready'; functions: FunctionRegistration[]; programmingModel?: { name: string; version: string } }
  | { type: 'startFailed'; error: SerializedError }
  | { type: 'result'; id: number; ok: true; response: InvocationResponse }
  | { type: 'result'; id: number; ok: false; error: SerializedError }
  | {
      type: 'log';
      level: LogLevel;
      category: 'user' | 'system';
      message: string;
      invocationId?: string;
      functionName?: string;
    };
