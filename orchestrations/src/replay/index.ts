export * from './engine';
export * from './files';
export * from './recording';
export * from './replayer';
export * from './today';
