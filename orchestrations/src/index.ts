export * from './contract';
export * from './errors';
export * from './names';
export * from './ports';
export { type DurableRegistrar, register } from './register';
export * from './retry-policies';
export * from './support';
export {
  AttemptTimeout,
  createWriteActivities,
  type InstanceReader,
  outcomeEventFor,
  type WriteActivities,
} from './write/activities';
export { type WriteProgress, type WriteStatus } from './write/orchestrator';
export type * from './write/steps';
