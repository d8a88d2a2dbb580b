export { localDir, repositoryRoot } from './paths';
export * from './store';
