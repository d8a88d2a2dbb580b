import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

import type {
  FromWorker,
  FunctionRegistration,
  InvocationInput,
  InvocationResponse,
  LogLevel,
  SerializedError,
  ToWorker,
} from './protocol';

/** Thrown when the worker cannot run an invocation at all (not started, restarting, gone). */
export class WorkerUnavailableError extends Error {
  override readonly name = 'WorkerUnavailableError';
}

/** Thrown when the app cannot be loaded: the message says why (a throw at load, no functions, …). */
export class AppStartError extends Error {
  override readonly name = 'AppStartError';
}

export interface WorkerLogEntry {
  level: LogLevel;
  /** `user`: context.log; `system`: the library; `console`: the process's stdout/stderr. */
  category: 'user' | 'system' | 'console';
  message: string;
  invocationId?: string;
  functionName?: string;
}

export interface WorkerOptions {
  appDir: string;
  env: NodeJS.ProcessEnv;
  /** Passed to the worker as `--inspect=<value>` (`true`: the default 127.0.0.1:9229). */
  inspect?: string | boolean | undefined;
  /** Start the worker paused on its first line (`--inspect-brk`). */
  inspectBrk?: boolean | undefined;
  log(entry: WorkerLogEntry): void;
  /** Called once when the process exits, for whatever reason, after it became ready. */
  onExit?(code: number | null, signal: NodeJS.Signals | null): void;
}

export type InvocationResult = { ok: true; response: InvocationResponse } | { ok: false; error: SerializedError };

/** The compiled worker entry point: next to this file in dist, or in dist when this runs from src (tests). */
function workerEntryPoint(): string {
  const besideThis = path.join(__dirname, 'worker', 'main.js');
  if (existsSync(besideThis)) return besideThis;
  const built = path.resolve(__dirname, '..', '..', 'dist', 'host', 'worker', 'main.js');
  if (existsSync(built)) return built;
  throw new Error(`The devhost worker is not built (looked for ${besideThis} and ${built}); run npm run build`);
}

/** One Node process running one app, as the Azure Functions Node worker does. */
export class WorkerProcess {
  /**
   * Starts the worker and resolves once the app is loaded and its `appStart` hooks ran, with the
   * functions it registered. Rejects with AppStartError when the app cannot be loaded.
   */
  static start(options: WorkerOptions): Promise<WorkerProcess> {
    const execArgv = ['--enable-source-maps'];
    if (options.inspect !== undefined && options.inspect !== false) {
      const flag = options.inspectBrk ? '--inspect-brk' : '--inspect';
      execArgv.push(options.inspect === true ? flag : `${flag}=${options.inspect}`);
    }
    const child = fork(workerEntryPoint(), [options.appDir], {
      cwd: options.appDir,
      env: options.env,
      execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const worker = new WorkerProcess(child, options);
    // A failed start leaves nothing behind: the rejection comes after the process is gone.
    return worker.ready.then(
      () => worker,
      async (error: unknown) => {
        await worker.stop(2000);
        throw error;
      },
    );
  }

  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (result: InvocationResult | Error) => void>();
  #nextId = 1;
  #functions: FunctionRegistration[] = [];
  #exited = false;
  #isReady = false;
  readonly exited: Promise<void>;
  private readonly ready: Promise<void>;

  private constructor(child: ChildProcess, options: WorkerOptions) {
    this.#child = child;
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.on('exit', killOnExit);

    for (const [stream, level] of [
      [child.stdout, 'information'],
      [child.stderr, 'warning'],
    ] as const) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        options.log({ level, category: 'console', message: line });
      });
    }

    let settleReady: (error?: Error) => void = () => undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      settleReady = (error) => {
        settleReady = () => undefined;
        if (error) reject(error);
        else resolve();
      };
    });

    child.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'ready':
          this.#functions = message.functions;
          this.#isReady = true;
          settleReady();
          break;
        case 'startFailed': {
          const error = new AppStartError(`The app in ${options.appDir} failed to start: ${message.error.message}`);
          if (message.error.stack) error.stack = `${error.name}: ${error.message}\n${message.error.stack}`;
          settleReady(error);
          break;
        }
        case 'result': {
          const settle = this.#pending.get(message.id);
          this.#pending.delete(message.id);
          settle?.(message.ok ? { ok: true, response: message.response } : { ok: false, error: message.error });
          break;
        }
        case 'log':
          options.log({
            level: message.level,
            category: message.category,
            message: message.message,
            ...(message.invocationId ? { invocationId: message.invocationId } : {}),
            ...(message.functionName ? { functionName: message.functionName } : {}),
          });
          break;
      }
    });

    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exited = true;
        process.off('exit', killOnExit);
        const wasReady = this.#isReady;
        this.#isReady = false;
        settleReady(
          new AppStartError(
            `The worker for ${options.appDir} exited while loading the app (code ${code ?? 'none'}, signal ${signal ?? 'none'})`,
          ),
        );
        for (const settle of this.#pending.values()) {
          settle(
            new WorkerUnavailableError(
              `The worker exited (code ${code ?? 'none'}, signal ${signal ?? 'none'}) before the invocation finished`,
            ),
          );
        }
        this.#pending.clear();
        if (wasReady) options.onExit?.(code, signal);
        resolve();
      });
    });
    child.on('error', (error) => {
      options.log({ level: 'error', category: 'system', message: `Worker process error: ${error.message}` });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get functions(): FunctionRegistration[] {
    return this.#functions;
  }

  get running(): boolean {
    return this.#isReady && !this.#exited;
  }

  /** Invocations sent and not answered yet. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Runs one function. Resolves with the app's response or its error; rejects with
   * WorkerUnavailableError when the worker is gone or goes away before answering.
   */
  invoke(
    functionName: string,
    invocationId: string,
    inputData: InvocationInput[],
    traceContext?: { traceParent?: string; traceState?: string },
  ): Promise<InvocationResult> {
    if (!this.running) return Promise.reject(new WorkerUnavailableError('The worker is not running'));
    const id = this.#nextId++;
    return new Promise<InvocationResult>((resolve, reject) => {
      this.#pending.set(id, (result) => {
        if (result instanceof Error) reject(result);
        else resolve(result);
      });
      const message: ToWorker = {
        type: 'invoke',
        id,
        functionName,
        invocationId,
        inputData,
        ...(traceContext ? { traceContext } : {}),
      };
      this.#child.send(message, (error) => {
        if (!error) return;
        this.#pending.delete(id);
        reject(new WorkerUnavailableError(`Could not reach the worker: ${error.message}`));
      });
    });
  }

  /**
   * Asks the worker to run its `appTerminate` hooks and exit; kills it after `graceMs`.
   * With `graceMs` 0 it is killed at once.
   */
  async stop(graceMs = 5000): Promise<void> {
    if (this.#exited) return;
    this.#isReady = false;
    if (graceMs > 0 && this.#child.connected) {
      const message: ToWorker = { type: 'shutdown' };
      this.#child.send(message, () => undefined);
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    } else {
      this.#child.kill('SIGKILL');
      await this.exited;
    }
  }
}
