export * from './fakes';
export { localDir, repositoryRoot } from './paths';
export * from './store';
export type { HistoryEvent } from './durable/contract';
