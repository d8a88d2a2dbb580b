export * from './classify';
export * from './export';
export * from './history';
export * from './redact';
export * from './timeline';
export * from './write-timeline';
