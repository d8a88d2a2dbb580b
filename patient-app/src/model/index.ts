export * from './patient';
export * from './search';
export * from './test-result';
