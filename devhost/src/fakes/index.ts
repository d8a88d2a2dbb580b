export { type LocalCertificate, localCertificate } from './certificate';
export { type FakeIngestion, type FakeIngestionOptions, LOCAL_INSTRUMENTATION_KEY, startFakeIngestion, type TelemetryEnvelope } from './fake-ingestion';
export { type FakeKeyVault, type FakeKeyVaultOptions, startFakeKeyVault, type VaultRequest } from './fake-key-vault';
