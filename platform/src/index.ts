export * from './http';
export * from './mongo';
export * from './secrets';
export * from './settings';
export * from './telemetry';
