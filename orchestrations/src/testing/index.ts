/**
 * `@patient-records/orchestrations/testing`: run the write orchestrations in-process with the real
 * durable-functions replay engine, plus in-memory ports for unit tests. Not for production code.
 */
export {
  type ActivityCall,
  createDriver,
  type DriverOptions,
  EventType,
  type HistoryEvent,
  OrchestrationDriver,
  type OrchestratorState,
  type RunResult,
} from './driver';
export { Faults, InMemoryAuditRegister, InMemoryPatientStore, type MemoryPatient } from './memory';
export { type PayloadKeyRing, TestPayloadCipher } from './payload-cipher';
