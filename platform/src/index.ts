export { EnvironmentSecretSource, type SecretSource } from './secrets/source';
