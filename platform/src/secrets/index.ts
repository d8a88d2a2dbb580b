export { CachedSecretSource, type CachedSecretSourceOptions, type SecretLog } from './cached-source';
export { createSecretSource, type CreateSecretSourceOptions, SECRET_SETTINGS } from './create';
export { type KeyVaultReference, parseKeyVaultReference } from './key-vault-reference';
export { secretNameForSetting } from './secret-names';
export { EnvironmentSecretSource, type SecretSource } from './source';
