export type { HistoryEvent } from './durable/contract';
export { replayHistory, type ReplayOptions, type ReplayResult } from './durable/replay';
export * from './fakes';
export * from './host';
export { localDir, repositoryRoot } from './paths';
export * from './store';
