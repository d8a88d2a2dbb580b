/** Where a Key Vault reference points: the vault, the secret, and a version when it is pinned. */
export interface KeyVaultReference {
  vaultUrl: string;
  secretName: string;
  /** Absent for a versionless reference, which always means the newest enabled version. */
  version?: string;
}

const REFERENCE = /^@Microsoft\.KeyVault\((.*)\)$/is;

/**
 * Parses an App Service Key Vault reference held in an app setting, in either documented form:
 *
 * - `@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>/<version?>)`
 * - `@Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>;SecretVersion=<version?>)`
 *
 * Returns `undefined` for any other value. In Azure the platform resolves references before the
 * process starts; when it cannot (identity not yet granted, vault firewall) the app sees the
 * reference text itself, and locally nothing resolves them, so the secrets module does.
 * `vaultUrlFor` turns a vault name into its URL (the public cloud suffix unless told otherwise).
 */
export function parseKeyVaultReference(
  value: string,
  vaultUrlFor: (vaultName: string) => string = (name) => `https://${name}.vault.azure.net`,
): KeyVaultReference | undefined {
  const match = REFERENCE.exec(value.trim());
  if (!match?.[1]) return undefined;
  const fields = new Map<string, string>();
  for (const part of match[1].split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  const secretUri = fields.get('secreturi');
  if (secretUri) {
    let url: URL;
    try {
      url = new URL(secretUri);
    } catch {
      return undefined;
    }
    const [kind, secretName, version] = url.pathname.split('/').filter((segment) => segment !== '');
    if (kind !== 'secrets' || !secretName) return undefined;
    return { vaultUrl: url.origin, secretName, ...(version ? { version } : {}) };
  }
  const vaultName = fields.get('vaultname');
  const secretName = fields.get('secretname');
  if (!vaultName || !secretName) return undefined;
  const version = fields.get('secretversion');
  return { vaultUrl: vaultUrlFor(vaultName), secretName, ...(version ? { version } : {}) };
}
