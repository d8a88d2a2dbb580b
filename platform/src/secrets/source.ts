/**
 * Where an app's settings and secrets come from. The composition root reads every setting through
 * one source at start: app settings (environment) locally and in Azure, or Key Vault when
 * `KEY_VAULT_URL` is set. Implementations cache values with a bounded lifetime and never log them.
 */
export interface SecretSource {
  /** The current value of a setting, or `undefined` when it is not set anywhere. */
  get(name: string): Promise<string | undefined>;
  /**
   * Drops any cached value and reads the setting again. Used when a key is rotated: after a `401`
   * from audit-app, patient-app refreshes the audit key once and retries.
   */
  refresh(name: string): Promise<string | undefined>;
}

/** Reads settings from the process environment (app settings, `local.settings.json` Values). */
export class EnvironmentSecretSource implements SecretSource {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  get(name: string): Promise<string | undefined> {
    const value = this.env[name];
    return Promise.resolve(value === '' ? undefined : value);
  }

  refresh(name: string): Promise<string | undefined> {
    return this.get(name);
  }
}
