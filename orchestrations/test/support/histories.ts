/**
 * Recorded-looking histories in the real Durable schemas, for unit tests of the support pieces:
 * the management API's converted shape (string EventType, scheduling merged into completions) and
 * the raw Durable Task shape (numeric EventType, EventId/TaskScheduledId/TimerId, JSON-text results).
 */
const sealed = { alg: 'A256GCM', keyId: 'local-1', iv: 'aXY=', ciphertext: 'Y2lwaGVy', tag: 'dGFn' };
export const operationId = 'op-7f3a';
export const patientId = '0b7e6a5c-3f2d-4c1b-9a8e-1d2c3b4a5f60';

export const audit = (outcome: string) => ({
  idempotencyKey: `${operationId}:${outcome}`,
  operationId,
  instanceId: operationId,
  kind: 'createPatient',
  operation: 'create',
  resource: { type: 'patient', id: patientId, patientId },
  actor: { system: 'consumer-a' },
  outcome,
  at: '2026-12-02T10:00:00.000Z',
});

export const input = {
  v: 1,
  kind: 'createPatient',
  operationId,
  patientId,
  actor: { system: 'consumer-a' },
  payload: sealed,
};

/** A create that succeeded first time (Azure's converted shape, with inputs and outputs). */
export const succeededConverted = [
  {
    EventType: 'ExecutionStarted',
    FunctionName: 'createPatientOrchestrator',
    Input: input,
    Timestamp: '2026-12-02T10:00:00.000Z',
  },
  {
    EventType: 'TaskCompleted',
    FunctionName: 'auditWriteActivity',
    Input: audit('attempted'),
    Result: { recordId: 'r1' },
    ScheduledTime: '2026-12-02T10:00:00.010Z',
    Timestamp: '2026-12-02T10:00:00.050Z',
  },
  {
    EventType: 'TaskCompleted',
    FunctionName: 'persistWriteActivity',
    Result: { ok: true, version: 1, lastUpdated: '2026-12-02T10:00:00.000Z' },
    ScheduledTime: '2026-12-02T10:00:00.060Z',
    Timestamp: '2026-12-02T10:00:00.090Z',
  },
  {
    EventType: 'TaskCompleted',
    FunctionName: 'auditWriteActivity',
    Input: audit('succeeded'),
    Result: { recordId: 'r2' },
    ScheduledTime: '2026-12-02T10:00:00.100Z',
    Timestamp: '2026-12-02T10:00:00.130Z',
  },
  {
    EventType: 'ExecutionCompleted',
    OrchestrationStatus: 'Completed',
    Result: {
      v: 1,
      kind: 'createPatient',
      operationId,
      patientId,
      outcome: 'created',
      version: 1,
      auditRecorded: ['attempted', 'succeeded'],
    },
    Timestamp: '2026-12-02T10:00:00.140Z',
  },
];

/** A create whose first audit call failed once and was retried after a 1 s timer (converted shape). */
export const retriedConverted = [
  {
    EventType: 'ExecutionStarted',
    FunctionName: 'createPatientOrchestrator',
    Input: input,
    Timestamp: '2026-12-02T11:00:00.000Z',
  },
  {
    EventType: 'TaskFailed',
    FunctionName: 'auditWriteActivity',
    Input: audit('attempted'),
    Reason: "Activity function 'auditWriteActivity' failed: connect ECONNREFUSED 127.0.0.1:7072",
    Details: 'Error: connect ECONNREFUSED 127.0.0.1:7072\n    at TCPConnectWrap.afterConnect',
    ScheduledTime: '2026-12-02T11:00:00.010Z',
    Timestamp: '2026-12-02T11:00:00.020Z',
  },
  { EventType: 'TimerCreated', FireAt: '2026-12-02T11:00:01.020Z', Timestamp: '2026-12-02T11:00:00.025Z' },
  { EventType: 'TimerFired', FireAt: '2026-12-02T11:00:01.020Z', Timestamp: '2026-12-02T11:00:01.030Z' },
  {
    EventType: 'TaskCompleted',
    FunctionName: 'auditWriteActivity',
    Input: audit('attempted'),
    Result: { recordId: 'r1' },
    ScheduledTime: '2026-12-02T11:00:01.040Z',
    Timestamp: '2026-12-02T11:00:01.070Z',
  },
  {
    EventType: 'TaskCompleted',
    FunctionName: 'persistWriteActivity',
    Result: { ok: true, version: 1 },
    ScheduledTime: '2026-12-02T11:00:01.080Z',
    Timestamp: '2026-12-02T11:00:01.100Z',
  },
  {
    EventType: 'TaskCompleted',
    FunctionName: 'auditWriteActivity',
    Input: audit('succeeded'),
    Result: { recordId: 'r2' },
    ScheduledTime: '2026-12-02T11:00:01.110Z',
    Timestamp: '2026-12-02T11:00:01.130Z',
  },
  {
    EventType: 'ExecutionCompleted',
    OrchestrationStatus: 'Completed',
    Result: {
      v: 1,
      kind: 'createPatient',
      operationId,
      patientId,
      outcome: 'created',
      version: 1,
      auditRecorded: ['attempted', 'succeeded'],
    },
    Timestamp: '2026-12-02T11:00:01.140Z',
  },
];

/**
 * A create compensated, in the raw Durable Task shape: persisted, then the final audit failed on
 * both attempts (a timer after each, as the host retries), the change was undone, and the undo was
 * recorded as compensated.
 */
export const compensatedRaw = [
  { EventType: 12, EventId: -1, Timestamp: '2026-12-02T12:00:00.000Z', IsPlayed: true },
  {
    EventType: 0,
    EventId: -1,
    Name: 'createPatientOrchestrator',
    Input: JSON.stringify(input),
    Timestamp: '2026-12-02T12:00:00.000Z',
    IsPlayed: true,
  },
  {
    EventType: 4,
    EventId: 0,
    Name: 'auditWriteActivity',
    Input: JSON.stringify(audit('attempted')),
    Timestamp: '2026-12-02T12:00:00.005Z',
  },
  { EventType: 13, EventId: -1, Timestamp: '2026-12-02T12:00:00.006Z' },
  { EventType: 12, EventId: -1, Timestamp: '2026-12-02T12:00:00.040Z' },
  { EventType: 5, EventId: -1, TaskScheduledId: 0, Result: '{"recordId":"r1"}', Timestamp: '2026-12-02T12:00:00.040Z' },
  {
    EventType: 4,
    EventId: 1,
    Name: 'persistWriteActivity',
    Input: JSON.stringify({ kind: 'createPatient', patientId }),
    Timestamp: '2026-12-02T12:00:00.045Z',
  },
  { EventType: 13, EventId: -1, Timestamp: '2026-12-02T12:00:00.046Z' },
  { EventType: 12, EventId: -1, Timestamp: '2026-12-02T12:00:00.080Z' },
  {
    EventType: 5,
    EventId: -1,
    TaskScheduledId: 1,
    Result: '{"ok":true,"version":1}',
    Timestamp: '2026-12-02T12:00:00.080Z',
  },
  {
    EventType: 4,
    EventId: 2,
    Name: 'auditWriteActivity',
    Input: JSON.stringify(audit('succeeded')),
    Timestamp: '2026-12-02T12:00:00.085Z',
  },
  { EventType: 13, EventId: -1, Timestamp: '2026-12-02T12:00:00.086Z' },
  { EventType: 12, EventId: -1, Timestamp: '2026-12-02T12:00:00.100Z' },
  {
    EventType: 6,
    EventId: -1,
    TaskScheduledId: 2,
    Reason: "Activity function 'auditWriteActivity' failed: audit-app answered 503",
    Details: 'Error: audit-app answered 503\n    at record',
    Timestamp: '2026-12-02T12:00:00.100Z',
  },
  { EventType: 10, EventId: 3, FireAt: '2026-12-02T12:00:01.100Z', Timestamp: '2026-12-02T12:00:00.101Z' },
  { EventType: 13, EventId: -1, Timestamp: '2026-12-02T12:00:00.102Z' },
  { EventType: 12, EventId: -1, Timestamp: '2026-12-02T12:00:01.110Z' },
  { EventType: 11, EventId: -1, TimerId: 3, FireAt: '2026-12-02T12:00:01.100Z', Timestamp: '2026-12-02T12:00:01.110Z' },
  {
    EventType: 4,
    EventId: 4,
    Name: 'auditWriteActivity',
    Input: JSON.stringify(audit('succeeded')),
    Timestamp: '2026-12-02T12:00:01.111Z',
  },
  { EventType: 13, EventId: -1, Timestamp: '2026-12-02T12:00:01.112Z' },
  { EventType: 12, EventId: -1, Timestamp: '2026-12-02T12:00:01.130Z' },
  {
    EventType: 6,
    EventId: -1,
    TaskScheduledId: 4,
    Reason: "Activity function 'auditWriteActivity' failed: audit-app answered 503",
    Details: 'Error: audit-app answered 503',
    Timestamp: '2026-12-02T12:00:01.130Z',
  },
  { EventType: 10, EventId: 5, FireAt: '2026-12-02T12:00:03.130Z', Timestamp: '2026-12-02T12:00:01.131Z' },
  { EventType: 13, EventId: -1, Timestamp: '2026-12-02T12:00:01.132Z' },
  { EventType: 12, EventId: -1, Timestamp: '2026-12-02T12:00:03.140Z' },
  { EventType: 11, EventId: -1, TimerId: 5, FireAt: '2026-12-02T12:00:03.130Z', Timestamp: '2026-12-02T12:00:03.140Z' },
  {
    EventType: 4,
    EventId: 6,
    Name: 'undoWriteActivity',
    Input: JSON.stringify({ kind: 'createPatient', patientId }),
    Timestamp: '2026-12-02T12:00:03.145Z',
  },
  { EventType: 13, EventId: -1, Timestamp: '2026-12-02T12:00:03.146Z' },
  { EventType: 12, EventId: -1, Timestamp: '2026-12-02T12:00:03.170Z' },
  { EventType: 5, EventId: -1, TaskScheduledId: 6, Result: '"reverted"', Timestamp: '2026-12-02T12:00:03.170Z' },
  {
    EventType: 4,
    EventId: 7,
    Name: 'auditWriteActivity',
    Input: JSON.stringify(audit('compensated')),
    Timestamp: '2026-12-02T12:00:03.175Z',
  },
  { EventType: 13, EventId: -1, Timestamp: '2026-12-02T12:00:03.176Z' },
  { EventType: 12, EventId: -1, Timestamp: '2026-12-02T12:00:03.200Z' },
  { EventType: 5, EventId: -1, TaskScheduledId: 7, Result: '{"recordId":"r3"}', Timestamp: '2026-12-02T12:00:03.200Z' },
  {
    EventType: 1,
    EventId: -1,
    OrchestrationStatus: 1,
    Result: JSON.stringify({
      v: 1,
      kind: 'createPatient',
      operationId,
      patientId,
      outcome: 'unavailable',
      failure: { step: 'auditResult', compensated: true },
      auditRecorded: ['attempted', 'compensated'],
    }),
    Timestamp: '2026-12-02T12:00:03.201Z',
  },
  { EventType: 13, EventId: -1, Timestamp: '2026-12-02T12:00:03.202Z' },
];
