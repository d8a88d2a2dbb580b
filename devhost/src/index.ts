export * from './fakes';
export { localDir, repositoryRoot } from './paths';
export * from './store';
