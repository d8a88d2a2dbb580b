/**
 * A FunctionInvoker that runs the functions a fixture app registered (captured through
 * functions-core.ts) in this process, with the real `@azure/functions` InvocationContext and the
 * real durable-functions handlers (invocation path A of durable-protocol.md §2.6).
 */
import { InvocationContext } from '@azure/functions';

import type {
  ActivityOutcome,
  FunctionInvoker,
  OrchestrationTriggerBinding,
  OrchestratorOutcome,
  RegisteredFunctions,
} from '../../src/durable/contract';
import { type CapturedFunction, capturedFunctions } from './functions-core';

const outOfProcLabel = '$OutOfProcData$:';

function triggerOf(fn: CapturedFunction): { name: string; type: string } | undefined {
  for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
    if (/trigger$/i.test(binding.type)) return { name, type: binding.type };
  }
  return undefined;
}

function contextFor(fn: CapturedFunction, invocationId: string): InvocationContext {
  const trigger = triggerOf(fn) ?? { name: 'trigger', type: 'unknown' };
  return new InvocationContext({
    invocationId,
    functionName: fn.metadata.name,
    options: { trigger, extraInputs: [], extraOutputs: [] },
    logHandler: () => undefined,
  });
}

export interface InProcessInvoker extends FunctionInvoker {
  /** Activity invocations so far, by name. */
  readonly activityCalls: Map<string, number>;
  /** Makes the next calls reject as if the worker were down (the engine must retry them). */
  unavailable: boolean;
  /** The most invocations that ran at the same time, by kind. */
  readonly peak: { orchestrators: number; activities: number };
}

export function createInProcessInvoker(): InProcessInvoker {
  const activityCalls = new Map<string, number>();
  let counter = 0;
  const running = { orchestrators: 0, activities: 0 };
  const peak = { orchestrators: 0, activities: 0 };
  const track = async <T>(kind: 'orchestrators' | 'activities', work: () => Promise<T>): Promise<T> => {
    running[kind] += 1;
    peak[kind] = Math.max(peak[kind], running[kind]);
    try {
      return await work();
    } finally {
      running[kind] -= 1;
    }
  };
  const invoker: InProcessInvoker = {
    activityCalls,
    unavailable: false,
    peak,
    functions(): RegisteredFunctions {
      const result: RegisteredFunctions = { orchestrators: [], activities: [], entities: [] };
      for (const fn of capturedFunctions.values()) {
        const type = triggerOf(fn)?.type;
        if (type === 'orchestrationTrigger') result.orchestrators.push(fn.metadata.name);
        else if (type === 'activityTrigger') result.activities.push(fn.metadata.name);
        else if (type === 'entityTrigger') result.entities.push(fn.metadata.name);
      }
      return result;
    },
    invokeOrchestrator: (name, binding, context) =>
      track('orchestrators', () => invokeOrchestrator(name, binding, context)),
    invokeActivity: (name, input, context) => track('activities', () => invokeActivity(name, input, context)),
  };

  async function invokeOrchestrator(
    name: string,
    binding: OrchestrationTriggerBinding,
    context?: { invocationId: string },
  ): Promise<OrchestratorOutcome> {
    if (invoker.unavailable) throw new Error('worker unavailable');
    const fn = capturedFunctions.get(name);
    if (!fn) throw new Error(`No function '${name}'`);
    // The extension sends the binding as JSON text; the worker parses it.
    const trigger = JSON.parse(JSON.stringify(binding)) as unknown;
    try {
      const state = await fn.callback(
        trigger,
        contextFor(fn, context?.invocationId ?? `orchestrator-${(counter += 1)}`),
      );
      return {
        ok: true,
        state: JSON.parse(JSON.stringify(state)) as OrchestratorOutcome extends { state: infer S } ? S : never,
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const at = message.indexOf(outOfProcLabel);
      if (at >= 0) {
        const state = JSON.parse(message.slice(at + outOfProcLabel.length)) as { error?: string };
        return { ok: false, error: state.error ?? message, state: state as never };
      }
      return { ok: false, error: error instanceof Error ? `${message}\n${error.stack ?? ''}` : message };
    }
  }

  async function invokeActivity(
    name: string,
    input: string,
    context: { invocationId?: string },
  ): Promise<ActivityOutcome> {
    if (invoker.unavailable) throw new Error('worker unavailable');
    const fn = capturedFunctions.get(name);
    if (!fn) return { ok: false, reason: `The function '${name}' does not exist`, details: '' };
    activityCalls.set(name, (activityCalls.get(name) ?? 0) + 1);
    let value: unknown;
    try {
      value = JSON.parse(input);
    } catch {
      value = input;
    }
    try {
      const result = await fn.callback(value, contextFor(fn, context.invocationId ?? `activity-${(counter += 1)}`));
      return { ok: true, result };
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      return { ok: false, reason: `Activity function '${name}' failed: ${err.message}`, details: String(err.stack) };
    }
  }

  return invoker;
}
