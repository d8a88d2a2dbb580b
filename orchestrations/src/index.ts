export * from './contract';
export * from './errors';
export * from './names';
export * from './ports';
export * from './support';
