/**
 * The one entry point an app calls (from its composition root, once, at start): registers the
 * write orchestrations and their activities with the Functions runtime. Importing the package
 * registers nothing.
 */
import type { FunctionInput, InvocationContext } from '@azure/functions';
import type { ActivityHandler, OrchestrationHandler } from 'durable-functions';
import * as df from 'durable-functions';

import { WRITE_KINDS } from './contract';
import { ACTIVITY_NAMES, ORCHESTRATION_NAMES } from './names';
import type { WriteDependencies } from './ports';
import { createWriteActivities } from './write/activities';
import { writeOrchestrator } from './write/orchestrator';
import type { AuditStepInput, PersistStepInput, ReportStepInput, UndoStepInput } from './write/steps';

/** The part of `df.app` that `register` uses; the testing driver passes its own to capture the handlers. */
export interface DurableRegistrar {
  orchestration(name: string, handler: OrchestrationHandler): unknown;
  activity(name: string, options: { handler: ActivityHandler; extraInputs?: FunctionInput[] }): unknown;
}

/** Registers the four write orchestrations and the audit, persist, undo and outcome-report activities. */
export function register(deps: WriteDependencies, registrar: DurableRegistrar = df.app): void {
  for (const kind of WRITE_KINDS) registrar.orchestration(ORCHESTRATION_NAMES[kind], writeOrchestrator(kind));
  const activities = createWriteActivities(deps);
  registrar.activity(ACTIVITY_NAMES.audit, { handler: (input: unknown) => activities.audit(input as AuditStepInput) });
  registrar.activity(ACTIVITY_NAMES.persist, {
    handler: (input: unknown) => activities.persist(input as PersistStepInput),
  });
  registrar.activity(ACTIVITY_NAMES.undo, { handler: (input: unknown) => activities.undo(input as UndoStepInput) });
  // The outcome step reads its own instance's history (the attempts) through a durable client
  // binding, which Azure and the devhost both serve on an activity; only with a reporter enabled.
  registrar.activity(ACTIVITY_NAMES.report, {
    extraInputs: [df.input.durableClient()],
    handler: (input: unknown, context: InvocationContext) =>
      activities.report(input as ReportStepInput, (instanceId) =>
        df.getClient(context).getStatus(instanceId, { showHistory: true, showHistoryOutput: false, showInput: false }),
      ),
  });
}
