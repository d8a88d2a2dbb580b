import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';

import type { HostSettings } from './config';
import type { DevhostLog } from './log';
import type { InvocationInput } from './protocol';
import { type AppFunctions, classifyFunctions } from './registrations';
import { type InvocationResult, WorkerProcess, WorkerUnavailableError } from './worker-process';

/** The host's state as `GET /admin/host/status` reports it (names from the Azure Functions host). */
export type HostState = 'Starting' | 'Running' | 'Error' | 'Stopping' | 'Stopped';

export interface RuntimeOptions {
  appDir: string;
  settings: HostSettings;
  /** The worker's environment, computed at each (re)start. */
  env(): NodeJS.ProcessEnv;
  inspect?: string | boolean | undefined;
  inspectBrk?: boolean | undefined;
  log: DevhostLog;
  /** How long a reload waits for invocations in flight before stopping the old worker. */
  drainMs?: number;
  /** Called after every successful (re)start with the app's functions. May throw to refuse them. */
  onFunctions(functions: AppFunctions): Promise<void> | void;
}

export interface Invocation {
  invocationId: string;
  result: InvocationResult;
}

const MAX_CRASH_RESTARTS = 5;
const CRASH_WINDOW_MS = 60_000;

/**
 * The app's worker over its whole life: start, reload (`--watch` or `reload()`), restart after a
 * crash or a function timeout, stop. Invocations go through here so that each one is logged with
 * its invocation id, bounded by `functionTimeout`, and rejected with WorkerUnavailableError while
 * no worker can take it.
 */
export class AppRuntime {
  readonly #options: RuntimeOptions;
  readonly #events = new EventEmitter();
  #state: HostState = 'Starting';
  #worker: WorkerProcess | undefined;
  #functions: AppFunctions | undefined;
  #lastError: string | undefined;
  #lifecycle: Promise<void> = Promise.resolve();
  #reloadQueued = false;
  #crashes: number[] = [];
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(options: RuntimeOptions) {
    this.#options = options;
    this.#events.setMaxListeners(0);
  }

  get state(): HostState {
    return this.#state;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  get functions(): AppFunctions | undefined {
    return this.#functions;
  }

  get workerPid(): number | undefined {
    return this.#worker?.running ? this.#worker.pid : undefined;
  }

  /** Starts the first worker; rejects (and stops it) when the app cannot be served. */
  async start(): Promise<void> {
    await this.#startWorker();
  }

  /** Replaces the worker with a fresh one that loads the app again. Concurrent calls coalesce. */
  reload(reason = 'reload requested'): Promise<void> {
    if (this.#reloadQueued) return this.#lifecycle;
    this.#reloadQueued = true;
    this.#lifecycle = this.#lifecycle.then(async () => {
      this.#reloadQueued = false;
      if (this.#state === 'Stopping' || this.#state === 'Stopped') return;
      this.#options.log({ level: 'information', message: `Restarting the worker: ${reason}` });
      this.#setState('Starting');
      await this.#drain();
      await this.#worker?.stop();
      this.#worker = undefined;
      try {
        await this.#startWorker();
      } catch (error) {
        this.#lastError = (error as Error).message;
        this.#setState('Error');
        this.#options.log({ level: 'error', message: `The app could not be reloaded: ${(error as Error).message}` });
      }
    });
    return this.#lifecycle;
  }

  async stop(): Promise<void> {
    this.#setState('Stopping');
    await this.#lifecycle.catch(() => undefined);
    await this.#drain();
    await this.#worker?.stop();
    this.#worker = undefined;
    this.#setState('Stopped');
  }

  /** Resolves true once Running, false when the host stops, errs, or `timeoutMs` passes first. */
  waitUntilRunning(timeoutMs: number): Promise<boolean> {
    if (this.#state === 'Running') return Promise.resolve(true);
    return new Promise((resolve) => {
      const onState = (state: HostState): void => {
        if (state === 'Starting') return;
        cleanup();
        resolve(state === 'Running');
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve(false);
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#events.off('state', onState);
      };
      this.#events.on('state', onState);
    });
  }

  /**
   * Runs one function in the worker and logs it as the Functions host does
   * (`Executing 'Functions.X' (Reason=…, Id=…)` / `Executed … (Succeeded|Failed, Id=…, Duration=…)`).
   * Rejects with WorkerUnavailableError when no worker can run it now.
   */
  invoke(
    functionName: string,
    inputData: InvocationInput[],
    options: {
      reason: string;
      /** Use this id (the Durable engine's) instead of a new one, so both logs name the same invocation. */
      invocationId?: string;
      traceContext?: { traceParent?: string; traceState?: string };
    },
  ): Promise<Invocation> {
    const worker = this.#worker;
    if (this.#state !== 'Running' || !worker?.running) {
      return Promise.reject(new WorkerUnavailableError(`The app is not running (host state ${this.#state})`));
    }
    const invocationId = options.invocationId ?? randomUUID();
    const started = Date.now();
    const log = this.#options.log;
    log({
      level: 'information',
      message: `Executing 'Functions.${functionName}' (Reason='${options.reason}', Id=${invocationId})`,
      functionName,
      invocationId,
    });

    const timeoutMs = this.#options.settings.functionTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<InvocationResult>((resolve) => {
      if (timeoutMs === undefined) return;
      timer = setTimeout(() => {
        const message = `Timeout value of ${this.#options.settings.functionTimeoutText ?? ''} exceeded by function 'Functions.${functionName}' (Id: '${invocationId}'). Initiating cancellation.`;
        resolve({ ok: false, error: { name: 'FunctionTimeoutException', message } });
        // As in Azure, a timed-out function takes its worker down: the host starts a new one.
        void this.reload('a function exceeded functionTimeout');
      }, timeoutMs);
    });
    const run = Promise.race([
      worker.invoke(functionName, invocationId, inputData, options.traceContext),
      timedOut,
    ]).then(
      (result) => {
        clearTimeout(timer);
        const duration = Date.now() - started;
        if (result.ok) {
          log({
            level: 'information',
            message: `Executed 'Functions.${functionName}' (Succeeded, Id=${invocationId}, Duration=${duration}ms)`,
            functionName,
            invocationId,
          });
        } else {
          log({
            level: 'error',
            message: `Executed 'Functions.${functionName}' (Failed, Id=${invocationId}, Duration=${duration}ms)\n${result.error.stack ?? `${result.error.name}: ${result.error.message}`}`,
            functionName,
            invocationId,
          });
        }
        return { invocationId, result };
      },
      (error: unknown) => {
        clearTimeout(timer);
        log({
          level: 'warning',
          message: `Invocation of 'Functions.${functionName}' (Id=${invocationId}) did not run to completion: ${(error as Error).message}`,
          functionName,
          invocationId,
        });
        throw error;
      },
    );
    this.#inFlight.add(run);
    void run.finally(() => this.#inFlight.delete(run)).catch(() => undefined);
    return run;
  }

  #setState(state: HostState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#events.emit('state', state);
  }

  async #drain(): Promise<void> {
    if (this.#inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inFlight]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.#options.drainMs ?? 10_000);
      }),
    ]);
    clearTimeout(timer);
  }

  async #startWorker(): Promise<void> {
    const worker = await WorkerProcess.start({
      appDir: this.#options.appDir,
      env: this.#options.env(),
      inspect: this.#options.inspect,
      inspectBrk: this.#options.inspectBrk,
      log: (entry) => {
        this.#options.log({
          level: entry.level,
          message: entry.message,
          category: entry.category,
          ...(entry.functionName ? { functionName: entry.functionName } : {}),
          ...(entry.invocationId ? { invocationId: entry.invocationId } : {}),
        });
      },
      onExit: (code, signal) => {
        this.#onWorkerExit(worker, code, signal);
      },
    });
    try {
      const functions = classifyFunctions(worker.functions, this.#options.settings.routePrefix);
      await this.#options.onFunctions(functions);
      this.#functions = functions;
    } catch (error) {
      await worker.stop(0);
      throw error;
    }
    this.#worker = worker;
    this.#lastError = undefined;
    if (this.#state === 'Stopping' || this.#state === 'Stopped') {
      await worker.stop();
      return;
    }
    this.#setState('Running');
    this.#options.log({
      level: 'information',
      message: `Worker process started and initialized (pid ${worker.pid ?? '?'}); ${worker.functions.length} function(s) registered`,
    });
  }

  #onWorkerExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    // Only an exit nobody asked for: stop() and reload() clear #worker or replace it first.
    if (this.#worker !== worker || this.#state !== 'Running') return;
    this.#options.log({
      level: 'error',
      message: `The worker process exited unexpectedly (code ${code ?? 'none'}, signal ${signal ?? 'none'})`,
    });
    const now = Date.now();
    this.#crashes = [...this.#crashes.filter((time) => now - time < CRASH_WINDOW_MS), now];
    if (this.#crashes.length > MAX_CRASH_RESTARTS) {
      this.#lastError = `The worker exited ${this.#crashes.length} times within a minute; not restarting it`;
      this.#setState('Error');
      this.#options.log({ level: 'error', message: this.#lastError });
      return;
    }
    void this.reload('the worker process exited');
  }
}
