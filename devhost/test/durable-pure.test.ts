import { ActionType, findDivergence, leafActions, retryDelayMs } from '../src/durable/actions';
import { invalidInstanceId } from '../src/durable/management';
import { convertHistory } from '../src/durable/status';

describe('retryDelayMs (DurableTask RetryInterceptor)', () => {
  const policy = {
    firstRetryIntervalInMilliseconds: 100,
    maxNumberOfAttempts: 6,
    backoffCoefficient: 3,
    maxRetryIntervalInMilliseconds: 1000,
  };

  test('first × backoff^k after the k+1-th failure, capped by the maximum interval', () => {
    expect([1, 2, 3, 4].map((failed) => retryDelayMs(policy, failed, 0, 0))).toEqual([100, 300, 900, 1000]);
  });

  test('backoff defaults to 1 and the cap to six days', () => {
    expect(retryDelayMs({ firstRetryIntervalInMilliseconds: 250, maxNumberOfAttempts: 3 }, 3, 0, 0)).toBe(250);
  });

  test('zero once the retry timeout has passed since the first attempt', () => {
    const withTimeout = { ...policy, retryTimeoutInMilliseconds: 5000 };
    expect(retryDelayMs(withTimeout, 1, 1000, 5999)).toBe(100);
    expect(retryDelayMs(withTimeout, 1, 1000, 6000)).toBe(0);
  });
});

describe('action numbering and divergence', () => {
  test('compound actions are walked depth first; only leaves count', () => {
    const actions = [
      [
        { actionType: ActionType.CallActivity, functionName: 'A' },
        {
          actionType: ActionType.WhenAny,
          compoundActions: [
            { actionType: ActionType.WaitForExternalEvent, externalEventName: 'E' },
            {
              actionType: ActionType.WhenAll,
              compoundActions: [
                { actionType: ActionType.CreateTimer },
                { actionType: ActionType.CallActivity, functionName: 'B' },
              ],
            },
          ],
        },
      ],
    ];
    expect(leafActions(actions).map((a) => a.functionName ?? a.externalEventName ?? a.actionType)).toEqual([
      'A',
      'E',
      ActionType.CreateTimer,
      'B',
    ]);
  });

  test('names the sequence number, the recorded event and the new action; a missing step too', () => {
    const recorded = [
      { actionType: ActionType.CallActivity, name: 'A', seq: 0 },
      { actionType: ActionType.CallSubOrchestrator, name: 'Child', seq: 1 },
    ];
    expect(
      findDivergence(recorded, [
        { actionType: ActionType.CallActivity, functionName: 'A' },
        { actionType: ActionType.CreateTimer },
      ]),
    ).toBe(
      "Non-deterministic orchestrator: at sequence number 1 the history recorded SubOrchestrationInstanceCreated 'Child', but the orchestrator now schedules CreateTimer.",
    );
    expect(findDivergence(recorded, [{ actionType: ActionType.CallActivity, functionName: 'A' }])).toContain(
      "at sequence number 1 the history recorded SubOrchestrationInstanceCreated 'Child', but the orchestrator no longer schedules it",
    );
    expect(
      findDivergence(recorded, [
        { actionType: ActionType.CallActivity, functionName: 'A' },
        { actionType: ActionType.CallSubOrchestrator, functionName: 'Child' },
      ]),
    ).toBeUndefined();
  });
});

describe('instance ids the extension refuses', () => {
  test.each(['@entity', 'a/b', 'a\\b', 'a?b', 'a#b', 'a\u0001b', '', 'x'.repeat(257)])('%j is refused', (id) => {
    expect(invalidInstanceId(id)).toEqual(expect.any(String));
  });
  test('ordinary ids pass', () => {
    expect(invalidInstanceId('order-42:child:3')).toBeUndefined();
  });
});

describe('the status history view', () => {
  test('merges scheduling into completions and drops markers, ids and (without showHistoryOutput) results', () => {
    const at = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const history = [
      { EventType: 12, EventId: -1, Timestamp: at(0) },
      {
        EventType: 0,
        EventId: -1,
        Timestamp: at(0),
        Name: 'Orch',
        Input: '1',
        OrchestrationInstance: { InstanceId: 'i' },
      },
      { EventType: 4, EventId: 0, Timestamp: at(1), Name: 'Act', Input: '1' },
      { EventType: 13, EventId: -1, Timestamp: at(1) },
      { EventType: 5, EventId: -1, Timestamp: at(2), TaskScheduledId: 0, Result: '{"n":2}' },
      { EventType: 1, EventId: -1, Timestamp: at(3), OrchestrationStatus: 1, Result: '{"n":2}' },
    ];
    expect(convertHistory(history, false)).toEqual([
      { EventType: 'ExecutionStarted', Timestamp: at(0), FunctionName: 'Orch' },
      { EventType: 'TaskCompleted', Timestamp: at(2), FunctionName: 'Act', ScheduledTime: at(1) },
      { EventType: 'ExecutionCompleted', Timestamp: at(3), OrchestrationStatus: 'Completed' },
    ]);
    expect(convertHistory(history, true)[1]).toMatchObject({ Result: { n: 2 } });
  });
});
