import type { SecretSource } from '../secrets/source';

/** How one setting is read: its name, whether it is secret, and how its raw value becomes a typed one. */
export interface SettingDefinition<T> {
  readonly name: string;
  /** Secret values are never echoed in errors (nor anywhere else). */
  readonly secret: boolean;
  /** The typed value, or a problem description naming what is expected (never the raw value). */
  read(raw: string | undefined): { ok: true; value: T } | { ok: false; problem: string };
}

/** The typed settings object for a record of definitions. */
export type SettingsOf<D extends Record<string, SettingDefinition<unknown>>> = {
  readonly [K in keyof D]: D[K] extends SettingDefinition<infer T> ? T : never;
};

/** Every setting that is missing or invalid, found at start, in one message. */
export class SettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Missing or invalid settings:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

interface Common {
  /** Never echo the value (connection strings, keys). */
  secret?: boolean;
}

function definition<T>(name: string, secret: boolean, read: SettingDefinition<T>['read']): SettingDefinition<T> {
  return { name, secret, read };
}

function missing(name: string): { ok: false; problem: string } {
  return { ok: false, problem: `${name} is not set` };
}

/** Builders for setting definitions. A setting without a default is required. */
export const setting = {
  string(name: string, options: Common & { default?: string } = {}): SettingDefinition<string> {
    return definition(name, options.secret ?? false, (raw) =>
      raw !== undefined ? { ok: true, value: raw } : options.default !== undefined ? { ok: true, value: options.default } : missing(name),
    );
  },

  /** A setting that may be absent (`undefined`). */
  optionalString(name: string, options: Common = {}): SettingDefinition<string | undefined> {
    return definition(name, options.secret ?? false, (raw) => ({ ok: true, value: raw }));
  },

  integer(name: string, options: { default?: number; min?: number; max?: number } = {}): SettingDefinition<number> {
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
    return definition(name, false, (raw) => {
      if (raw === undefined) return options.default !== undefined ? { ok: true, value: options.default } : missing(name);
      const value = Number(raw.trim());
      if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
        return { ok: false, problem: `${name} must be an integer from ${min} to ${max}, got "${raw}"` };
      }
      return { ok: true, value };
    });
  },

  boolean(name: string, options: { default?: boolean } = {}): SettingDefinition<boolean> {
    return definition(name, false, (raw) => {
      if (raw === undefined) return options.default !== undefined ? { ok: true, value: options.default } : missing(name);
      const normalised = raw.trim().toLowerCase();
      if (normalised === 'true' || normalised === '1') return { ok: true, value: true };
      if (normalised === 'false' || normalised === '0') return { ok: true, value: false };
      return { ok: false, problem: `${name} must be true or false, got "${raw}"` };
    });
  },

  url(name: string, options: Common & { default?: string; protocols?: readonly string[] } = {}): SettingDefinition<URL> {
    const protocols = options.protocols ?? ['http:', 'https:'];
    const secret = options.secret ?? false;
    return definition(name, secret, (raw) => {
      const text = raw ?? options.default;
      if (text === undefined) return missing(name);
      let value: URL;
      try {
        value = new URL(text);
      } catch {
        return { ok: false, problem: `${name} must be an absolute URL${secret ? '' : `, got "${text}"`}` };
      }
      if (!protocols.includes(value.protocol)) {
        return { ok: false, problem: `${name} must be a URL with scheme ${protocols.join(' or ')}` };
      }
      return { ok: true, value };
    });
  },

  /** A MongoDB connection string (`mongodb://` or `mongodb+srv://`); always secret. */
  mongoConnectionString(name: string): SettingDefinition<string> {
    return definition(name, true, (raw) => {
      if (raw === undefined) return missing(name);
      if (!/^mongodb(\+srv)?:\/\/.+/.test(raw)) return { ok: false, problem: `${name} must be a mongodb:// or mongodb+srv:// connection string` };
      return { ok: true, value: raw };
    });
  },
};

/**
 * Reads every defined setting through `source` once, at start. Empty values count as unset.
 * @throws SettingsError naming every missing or invalid setting, never a secret's value.
 */
export async function readSettings<D extends Record<string, SettingDefinition<unknown>>>(
  source: SecretSource,
  definitions: D,
): Promise<SettingsOf<D>> {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, definition] of Object.entries(definitions)) {
    let raw: string | undefined;
    try {
      raw = await source.get(definition.name);
    } catch (error) {
      problems.push(`${definition.name} could not be read: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    const result = definition.read(raw === '' ? undefined : raw);
    if (result.ok) values[key] = result.value;
    else problems.push(definition.secret ? result.problem.replace(/, got ".*"$/s, '') : result.problem);
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return values as SettingsOf<D>;
}

/** The names of the settings in `definitions`, e.g. for an app's `appSettingNames`. */
export function settingNames(definitions: Record<string, SettingDefinition<unknown>>): string[] {
  return Object.values(definitions).map((definition) => definition.name);
}
