export * from './classify';
export * from './history';
export * from './redact';
export * from './timeline';
export * from './write-timeline';
