/**
 * The boundary between the two halves of the devhost:
 *
 * - the Functions host (`src/host/`): loads an app in a worker process, serves its HTTP triggers,
 *   enforces keys, and invokes any registered function on request;
 * - the Durable engine (`src/durable/`): keeps task hub state in MongoDB, drives orchestrators,
 *   schedules activities, timers and events, and serves the Durable HTTP management API.
 *
 * The host implements `FunctionInvoker` and mounts `DurableEngine.handle` under
 * `/runtime/webhooks/durabletask/` (with keys) and under the loopback rpc base `/durabletask/`.
 * Wire shapes follow ../shared/research/durable-protocol.md (sections cited below).
 */
import type { Db } from 'mongodb';

/** One Durable Task history event as the JS library reads it (PascalCase, EventType as a number; §3.4). */
export interface HistoryEvent {
  EventType: number;
  EventId: number;
  Timestamp: string;
  IsPlayed?: boolean;
  [field: string]: unknown;
}

/** The trigger value handed to an orchestrator function (§3.2). */
export interface OrchestrationTriggerBinding {
  history: HistoryEvent[];
  input: unknown;
  instanceId: string;
  isReplaying: boolean;
  parentInstanceId: string | null;
  upperSchemaVersion: number;
  upperSchemaVersionNew: number;
  longRunningTimerIntervalDuration: string;
  maximumShortTimerDuration: string;
  defaultHttpAsyncRequestSleepTimeMillseconds: number;
}

/** The orchestrator's reply (§3.3), after a JSON round trip. */
export interface OrchestratorState {
  isDone: boolean;
  actions: unknown[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion: number;
  failureDetails?: unknown;
}

/**
 * Invoking an orchestrator either returns its state, or throws; a throw carries the state after
 * `$OutOfProcData$:` (§3.3), which the host parses into `state` when present.
 */
export type OrchestratorOutcome =
  { ok: true; state: OrchestratorState } | { ok: false; error: string; state?: OrchestratorState };

/** An activity's result, or its failure in the shape TaskFailed needs (§3.8). */
export type ActivityOutcome =
  { ok: true; result: unknown } | { ok: false; reason: string; details: string; failureDetails?: unknown };

export interface RegisteredFunctions {
  orchestrators: string[];
  activities: string[];
  entities: string[];
}

/**
 * Implemented by the Functions host; the engine calls it to run app code.
 *
 * A function that fails *resolves* to an outcome with `ok: false`: that is the app's failure and
 * goes into history. A call that *rejects* means the host could not run the function at all (the
 * worker restarted under `--watch`, crashed, or is shutting down): the engine keeps the work item
 * and runs it again later, as the extension does when a worker dies mid-invocation.
 */
export interface FunctionInvoker {
  /** The durable functions the app registered, by trigger kind. */
  functions(): RegisteredFunctions;
  /** `context.invocationId` (added by the engine) is the id the engine logs; use it for the InvocationContext. */
  invokeOrchestrator(
    name: string,
    binding: OrchestrationTriggerBinding,
    context?: { invocationId: string },
  ): Promise<OrchestratorOutcome>;
  /**
   * Runs an activity. `input` is the wire value exactly as the extension delivers it: activity inputs
   * are JSON text (strings arrive JSON-encoded twice, §3.8); the host passes it as an RpcTypedData string.
   */
  invokeActivity(
    name: string,
    input: string,
    context: { instanceId: string; taskScheduledId: number; invocationId?: string },
  ): Promise<ActivityOutcome>;
}

/** A request to the Durable HTTP management API, with the path relative to its base. */
export interface ManagementRequest {
  method: string;
  /** Relative to the base, without a leading slash: `orchestrators/Name/id`, `instances/id/terminate`, `instances/`. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: Buffer;
  /**
   * Where links in responses point: the public webhook base of the calling host, e.g.
   * `http://localhost:7071/runtime/webhooks/durabletask`, and the query every link must carry
   * (`taskHub=…&connection=Storage&code=<system key>`).
   */
  links: { baseUrl: string; requiredQuery: string };
}

export interface ManagementResponse {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialisable body; omitted for empty responses. */
  body?: unknown;
}

export interface DurableEngineOptions {
  db: Db;
  hubName: string;
  invoker: FunctionInvoker;
  /** From host.json `extensions.durableTask`. */
  maxConcurrentOrchestratorFunctions: number;
  maxConcurrentActivityFunctions: number;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface DurableEngine {
  /** Creates indexes, then resumes every unfinished instance and all pending work found in the store. */
  start(): Promise<void>;
  /** Stops taking work and waits for invocations in flight; state stays in the store. */
  stop(): Promise<void>;
  /** Serves one management API request (durable-protocol.md §4.3). */
  handle(request: ManagementRequest): Promise<ManagementResponse>;
}

/**
 * The value of a `durableClient` input binding (§4.1), which the host hands to every function that
 * declares one. `rpcBaseUrl` must end with `/`.
 */
export interface DurableClientBindingOptions {
  hubName: string;
  /** Public webhook base, e.g. `http://localhost:7071/runtime/webhooks/durabletask`. */
  webhookBaseUrl: string;
  /** Loopback rpc base with a trailing slash, e.g. `http://127.0.0.1:41234/durabletask/`. */
  rpcBaseUrl: string;
  /** The system key the webhook links carry as `code`. */
  systemKey: string;
}
