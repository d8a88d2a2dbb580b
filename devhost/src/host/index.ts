export { type HostSettings, parseTimeSpan, readHostSettings, readLocalSettings } from './config';
export { type Devhost, type DevhostOptions, startDevhost } from './devhost';
export { durableClientBindingValue } from './durable-client';
export { DURABLE_SYSTEM_KEY_NAME, generateKey, type KeysFile } from './keys';
export { consoleLog, type DevhostLog, type DevhostLogEntry } from './log';
export { UnsupportedFunctionError } from './registrations';
export { type HostState } from './runtime';
export { AppStartError, WorkerUnavailableError } from './worker-process';
