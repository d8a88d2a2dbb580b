import type {
  ActivityOutcome,
  FunctionInvoker,
  OrchestrationTriggerBinding,
  OrchestratorOutcome,
  OrchestratorState,
  RegisteredFunctions,
} from '../durable/contract';
import type { InvocationInput, RpcTypedData, SerializedError } from './protocol';
import type { AppRuntime } from './runtime';

const OUT_OF_PROC_LABEL = '$OutOfProcData$:';

/** Converts a returned RpcTypedData back to the JS value the function returned. */
export function fromTypedData(data: RpcTypedData | null | undefined): unknown {
  if (!data) return null;
  if (typeof data.string === 'string') return data.string;
  if (typeof data.json === 'string') return JSON.parse(data.json) as unknown;
  if (typeof data.int === 'number') return data.int;
  if (typeof data.double === 'number') return data.double;
  if (data.bytes) return Buffer.from(data.bytes).toString('base64');
  return null;
}

/** The orchestrator state carried by a thrown orchestration failure (durable-protocol.md §3.3). */
export function parseOutOfProcData(message: string): OrchestratorState | undefined {
  const at = message.indexOf(OUT_OF_PROC_LABEL);
  if (at < 0) return undefined;
  try {
    return JSON.parse(message.slice(at + OUT_OF_PROC_LABEL.length)) as OrchestratorState;
  } catch {
    return undefined;
  }
}

/** When the app set `df.app.setExceptionPropertiesProvider`, an activity error's message is FailureDetails JSON. */
function failureDetailsFrom(message: string): { ErrorType: string; ErrorMessage?: string } | undefined {
  if (!message.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(message) as unknown;
    if (
      parsed !== null &&
      typeof parsed === 'object' &&
      typeof (parsed as { ErrorType?: unknown }).ErrorType === 'string'
    ) {
      return parsed as { ErrorType: string; ErrorMessage?: string };
    }
  } catch {
    // An ordinary message that happens to start with a brace.
  }
  return undefined;
}

function describe(error: SerializedError): string {
  return error.stack ?? `${error.name}: ${error.message}`;
}

/**
 * Runs orchestrators and activities in the app's worker for the Durable engine (contract.ts).
 * A function's own failure resolves as `ok: false`; a rejection means the worker could not run it.
 */
export class WorkerFunctionInvoker implements FunctionInvoker {
  readonly #runtime: AppRuntime;
  readonly #durableClientInput: (bindingName: string) => InvocationInput;

  constructor(runtime: AppRuntime, durableClientInput: (bindingName: string) => InvocationInput) {
    this.#runtime = runtime;
    this.#durableClientInput = durableClientInput;
  }

  functions(): RegisteredFunctions {
    const functions = this.#runtime.functions;
    return {
      orchestrators: [...(functions?.orchestrators ?? [])],
      activities: [...(functions?.activities ?? [])],
      entities: [],
    };
  }

  #inputs(name: string, triggerData: RpcTypedData): InvocationInput[] | undefined {
    const functions = this.#runtime.functions;
    const trigger = functions?.triggerBindings.get(name);
    if (!functions || trigger === undefined) return undefined;
    const inputs: InvocationInput[] = [{ name: trigger, data: triggerData }];
    const client = functions.durableClientBindings.get(name);
    if (client) inputs.push(this.#durableClientInput(client));
    return inputs;
  }

  async invokeOrchestrator(
    name: string,
    binding: OrchestrationTriggerBinding,
    context?: { invocationId: string },
  ): Promise<OrchestratorOutcome> {
    if (!this.#runtime.functions?.orchestrators.includes(name)) {
      if (this.#runtime.state !== 'Running')
        throw new Error(`The app is not running (host state ${this.#runtime.state})`);
      return {
        ok: false,
        error: `The function '${name}' doesn't exist, is disabled, or is not an orchestrator function.`,
      };
    }
    const inputs = this.#inputs(name, { string: JSON.stringify(binding) });
    if (!inputs) throw new Error(`The app is not running (host state ${this.#runtime.state})`);
    const { result } = await this.#runtime.invoke(name, inputs, {
      reason: `(instance ${binding.instanceId})`,
      ...(context?.invocationId ? { invocationId: context.invocationId } : {}),
    });
    if (result.ok) {
      const state = fromTypedData(result.response.returnValue);
      if (state === null || typeof state !== 'object') {
        return { ok: false, error: `Orchestrator function '${name}' returned no orchestration state` };
      }
      return { ok: true, state: state as OrchestratorState };
    }
    const state = parseOutOfProcData(result.error.message);
    const error = state?.error ?? describe(result.error);
    return state ? { ok: false, error, state } : { ok: false, error };
  }

  async invokeActivity(
    name: string,
    input: string,
    context: { instanceId: string; taskScheduledId: number; invocationId?: string },
  ): Promise<ActivityOutcome> {
    if (!this.#runtime.functions?.activities.includes(name)) {
      if (this.#runtime.state !== 'Running')
        throw new Error(`The app is not running (host state ${this.#runtime.state})`);
      const message = `The function '${name}' doesn't exist, is disabled, or is not an activity function.`;
      return { ok: false, reason: message, details: message };
    }
    const inputs = this.#inputs(name, { string: input });
    if (!inputs) throw new Error(`The app is not running (host state ${this.#runtime.state})`);
    const { result } = await this.#runtime.invoke(name, inputs, {
      reason: `(instance ${context.instanceId}, task ${context.taskScheduledId})`,
      ...(context.invocationId ? { invocationId: context.invocationId } : {}),
    });
    if (result.ok) return { ok: true, result: fromTypedData(result.response.returnValue) };
    const failureDetails = failureDetailsFrom(result.error.message);
    const message = failureDetails?.ErrorMessage ?? result.error.message;
    return {
      ok: false,
      reason: `Activity function '${name}' failed: ${message}`,
      details: describe(result.error),
      ...(failureDetails ? { failureDetails } : {}),
    };
  }
}
