/**
 * Runs orchestrator handlers through the real durable-functions replay engine: exactly the function
 * `df.app.orchestration` registers (`createOrchestrator(handler)`), called with the binding the
 * extension sends, after the same JSON round trip.
 */
import { InvocationContext } from '@azure/functions';
import type { OrchestrationHandler } from 'durable-functions';
import { createOrchestrator } from 'durable-functions/lib/src/util/testingUtils';

import type { EpisodeInvoker, EpisodeState } from './replayer';

const OUT_OF_PROC_LABEL = '$OutOfProcData$:';

/** Captures orchestrations the way `df.app.orchestration` would register them. */
export class OrchestratorRegistry {
  private readonly orchestrators = new Map<
    string,
    (trigger: unknown, context: InvocationContext) => Promise<unknown>
  >();

  orchestration(name: string, handler: OrchestrationHandler): void {
    this.orchestrators.set(name, createOrchestrator(handler));
  }

  /** Activities never run during replay: their recorded results are delivered instead. */
  activity(): void {
    // Nothing to capture.
  }

  names(): string[] {
    return [...this.orchestrators.keys()];
  }

  has(name: string): boolean {
    return this.orchestrators.has(name);
  }

  /** An invoker over the captured orchestrators. */
  readonly invoke: EpisodeInvoker = async (name, binding) => {
    const orchestrator = this.orchestrators.get(name);
    if (orchestrator === undefined)
      throw new Error(`no orchestrator registered as ${name} (known: ${this.names().join(', ') || 'none'})`);
    const context = new InvocationContext({
      functionName: name,
      invocationId: `${binding.instanceId}:replay`,
      logHandler: () => undefined,
    });
    try {
      const state = await orchestrator(JSON.parse(JSON.stringify(binding)), context);
      return JSON.parse(JSON.stringify(state)) as EpisodeState;
    } catch (error) {
      // A failing orchestrator throws its state after this label (durable-protocol.md §3.3).
      const message = error instanceof Error ? error.message : String(error);
      const at = message.indexOf(OUT_OF_PROC_LABEL);
      if (at < 0) return { isDone: false, actions: [], error: message };
      return JSON.parse(message.slice(at + OUT_OF_PROC_LABEL.length)) as EpisodeState;
    }
  };
}
