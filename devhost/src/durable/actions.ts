/**
 * The actions an orchestrator returns (durable-protocol.md §3.5) and how the host numbers them
 * (§3.6): the list is cumulative since the start of the execution; compound WhenAll/WhenAny
 * actions are walked depth first and only their leaves are scheduled.
 */

export const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;

const actionTypeNames: Record<number, string> = Object.fromEntries(
  Object.entries(ActionType).map(([name, value]) => [value, name]),
);

export function actionTypeName(type: number): string {
  return actionTypeNames[type] ?? `action type ${type}`;
}

/** The retry policy as the library serialises `RetryOptions` (§3.7). */
export interface RetryPolicy {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

/** One leaf action, as the library emits it. */
export interface Action {
  actionType: number;
  functionName?: string;
  input?: unknown;
  retryOptions?: RetryPolicy;
  instanceId?: string;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: Action[];
  [field: string]: unknown;
}

/** Flattens the reply's `actions` (schema V1 per-yield arrays or V3 `[[...]]`) to its leaves, in order. */
export function leafActions(actions: readonly unknown[][] | undefined): Action[] {
  const leaves: Action[] = [];
  const walk = (action: Action): void => {
    if (action.actionType === ActionType.WhenAll || action.actionType === ActionType.WhenAny) {
      for (const child of action.compoundActions ?? []) walk(child);
    } else {
      leaves.push(action);
    }
  };
  for (const group of actions ?? []) {
    for (const action of group) walk(action as Action);
  }
  return leaves;
}

/** Whether a leaf takes a sequence number (§3.6): everything but event waits and continue-as-new. */
export function takesSequenceNumber(action: Action): boolean {
  return action.actionType !== ActionType.WaitForExternalEvent && action.actionType !== ActionType.ContinueAsNew;
}

/** What the host remembers of a scheduled leaf, to check later replies against (nondeterminism). */
export interface LeafRecord {
  actionType: number;
  /** Function name, event name, or the timer's fire time. */
  name: string;
  /** Sequence number of its first task, when it takes one. */
  seq?: number;
}

export function leafName(action: Action): string {
  if (action.actionType === ActionType.WaitForExternalEvent) return action.externalEventName ?? '';
  if (action.actionType === ActionType.CreateTimer) return 'timer';
  return action.functionName ?? '';
}

export function describeLeaf(leaf: { actionType: number; name: string }): string {
  switch (leaf.actionType) {
    case ActionType.CreateTimer:
      return 'CreateTimer';
    case ActionType.WaitForExternalEvent:
      return `WaitForExternalEvent '${leaf.name}'`;
    default:
      return `${actionTypeName(leaf.actionType)} '${leaf.name}'`;
  }
}

/** The history event the extension writes when it schedules a leaf, for messages. */
export function describeRecorded(leaf: LeafRecord): string {
  switch (leaf.actionType) {
    case ActionType.CallActivity:
    case ActionType.CallActivityWithRetry:
      return `TaskScheduled '${leaf.name}'${leaf.actionType === ActionType.CallActivityWithRetry ? ' (with retry)' : ''}`;
    case ActionType.CallSubOrchestrator:
    case ActionType.CallSubOrchestratorWithRetry:
      return `SubOrchestrationInstanceCreated '${leaf.name}'${leaf.actionType === ActionType.CallSubOrchestratorWithRetry ? ' (with retry)' : ''}`;
    case ActionType.CreateTimer:
      return 'TimerCreated';
    case ActionType.WaitForExternalEvent:
      return `a wait for external event '${leaf.name}'`;
    default:
      return describeLeaf(leaf);
  }
}

/**
 * Compares the leaves already recorded with the orchestrator's new reply. Returns a message naming
 * the sequence number, what history recorded and what the orchestrator now schedules, or undefined.
 */
export function findDivergence(recorded: readonly LeafRecord[], leaves: readonly Action[]): string | undefined {
  for (let index = 0; index < recorded.length; index += 1) {
    const expected = recorded[index];
    if (!expected) break;
    const actual = leaves[index];
    const where = expected.seq === undefined ? `action #${index}` : `sequence number ${expected.seq}`;
    if (!actual) {
      return `Non-deterministic orchestrator: at ${where} the history recorded ${describeRecorded(expected)}, but the orchestrator no longer schedules it (it now schedules ${leaves.length} action(s) where history has ${recorded.length}).`;
    }
    if (actual.actionType !== expected.actionType || leafName(actual) !== expected.name) {
      return `Non-deterministic orchestrator: at ${where} the history recorded ${describeRecorded(expected)}, but the orchestrator now schedules ${describeLeaf({ actionType: actual.actionType, name: leafName(actual) })}.`;
    }
  }
  return undefined;
}

/** Retry delay as DurableTask's RetryInterceptor computes it (§3.7); 0 once the retry timeout has passed. */
export function retryDelayMs(policy: RetryPolicy, failedAttempts: number, firstAttemptAt: number, now: number): number {
  const timeout = policy.retryTimeoutInMilliseconds;
  if (timeout !== undefined && timeout > 0 && timeout < Number.MAX_SAFE_INTEGER && now >= firstAttemptAt + timeout)
    return 0;
  const backoff = policy.backoffCoefficient ?? 1;
  const cap = policy.maxRetryIntervalInMilliseconds ?? 6 * 24 * 3600 * 1000;
  const delay = policy.firstRetryIntervalInMilliseconds * Math.pow(backoff, Math.max(0, failedAttempts - 1));
  return Math.max(0, Math.min(delay, cap));
}
