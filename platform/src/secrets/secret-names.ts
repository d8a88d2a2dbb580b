/**
 * The Key Vault secret that holds an app setting. Secret names allow only letters, digits and
 * dashes, so the setting name is lower-cased and `_`, `.`, `:` and `__` become `-`:
 *
 * | app setting | Key Vault secret |
 * |---|---|
 * | `AUDIT_API_KEY` | `audit-api-key` |
 * | `MONGODB_URI` | `mongodb-uri` |
 * | `PATIENT_DATA_KEY` | `patient-data-key` |
 *
 * `overrides` maps a setting to a different secret name where an existing vault already names it
 * otherwise. docs/security.md lists the settings the apps read.
 */
export function secretNameForSetting(setting: string, overrides: Readonly<Record<string, string>> = {}): string {
  const override = overrides[setting];
  if (override !== undefined) return override;
  const name = setting
    .toLowerCase()
    .replace(/[_.:]+/g, '-')
    .replace(/[^0-9a-z-]/g, '')
    .replace(/^-+|-+$/g, '');
  if (name === '' || name.length > 127) throw new Error(`The setting name ${JSON.stringify(setting)} has no Key Vault secret name`);
  return name;
}
