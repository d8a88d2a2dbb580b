export type { HistoryEvent } from './durable/contract';
export * from './fakes';
export * from './host';
export { localDir, repositoryRoot } from './paths';
export * from './store';
