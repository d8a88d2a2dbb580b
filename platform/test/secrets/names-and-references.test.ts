import { parseKeyVaultReference, secretNameForSetting } from '../../src/secrets';

test('maps setting names to Key Vault secret names', () => {
  expect(secretNameForSetting('AUDIT_API_KEY')).toBe('audit-api-key');
  expect(secretNameForSetting('MONGODB_URI')).toBe('mongodb-uri');
  expect(secretNameForSetting('Values__Nested:Key')).toBe('values-nested-key');
  expect(secretNameForSetting('AUDIT_API_KEY', { AUDIT_API_KEY: 'audit-host-key' })).toBe('audit-host-key');
  expect(() => secretNameForSetting('___')).toThrow(/no Key Vault secret name/);
});

test('parses both Key Vault reference forms', () => {
  expect(parseKeyVaultReference('@Microsoft.KeyVault(SecretUri=https://kv-one.vault.azure.net/secrets/audit-api-key/)')).toEqual({
    vaultUrl: 'https://kv-one.vault.azure.net',
    secretName: 'audit-api-key',
  });
  expect(parseKeyVaultReference('@Microsoft.KeyVault(SecretUri=https://kv-one.vault.azure.net/secrets/audit-api-key/0123abcd)')).toEqual({
    vaultUrl: 'https://kv-one.vault.azure.net',
    secretName: 'audit-api-key',
    version: '0123abcd',
  });
  expect(parseKeyVaultReference('@Microsoft.KeyVault(VaultName=kv-one;SecretName=mongodb-uri;SecretVersion=99)')).toEqual({
    vaultUrl: 'https://kv-one.vault.azure.net',
    secretName: 'mongodb-uri',
    version: '99',
  });
  expect(parseKeyVaultReference('@Microsoft.KeyVault(VaultName=kv;SecretName=x)', (name) => `https://${name}.vault.usgovcloudapi.net`)?.vaultUrl).toBe(
    'https://kv.vault.usgovcloudapi.net',
  );
});

test('leaves ordinary values and malformed references alone', () => {
  expect(parseKeyVaultReference('mongodb://127.0.0.1:27017')).toBeUndefined();
  expect(parseKeyVaultReference('@Microsoft.KeyVault(SecretName=missing-vault)')).toBeUndefined();
  expect(parseKeyVaultReference('@Microsoft.KeyVault(SecretUri=not a url)')).toBeUndefined();
  expect(parseKeyVaultReference('@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/keys/k/)')).toBeUndefined();
});
