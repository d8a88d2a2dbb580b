import type { SecretSource } from './source';

/** Messages about secrets carry names, vault hosts and error codes; never values. */
export type SecretLog = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface CachedSecretSourceOptions {
  /** Loads one setting from where it really lives; `undefined` when it is not set anywhere. */
  load: (name: string) => Promise<string | undefined>;
  /** How long a value is served from memory before it is read again. */
  ttlMs: number;
  now?: () => number;
  log?: SecretLog;
}

interface Entry {
  value: string | undefined;
  expiresAt: number;
}

/**
 * Caches settings with a bounded lifetime and makes concurrent reads of one setting share a
 * single load. `refresh` drops the cached value and loads once, however many callers ask at the
 * same time (a burst of `401`s after a key rotation causes one Key Vault read, not one per call).
 * When a load fails and an earlier value is known, the earlier value is served (a Key Vault blip
 * must not take the app down) and the next call tries again.
 */
export class CachedSecretSource implements SecretSource {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<string | undefined>>();
  private readonly now: () => number;
  private readonly log: SecretLog;

  constructor(private readonly options: CachedSecretSourceOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => undefined);
  }

  get(name: string): Promise<string | undefined> {
    const entry = this.entries.get(name);
    if (entry && entry.expiresAt > this.now()) return Promise.resolve(entry.value);
    return this.load(name);
  }

  refresh(name: string): Promise<string | undefined> {
    const running = this.inFlight.get(name);
    if (running) return running;
    const entry = this.entries.get(name);
    if (entry) entry.expiresAt = 0;
    return this.load(name);
  }

  private load(name: string): Promise<string | undefined> {
    const running = this.inFlight.get(name);
    if (running) return running;
    const loading = this.options
      .load(name)
      .then(
        (value) => {
          this.entries.set(name, { value, expiresAt: this.now() + this.options.ttlMs });
          return value;
        },
        (error: unknown) => {
          const previous = this.entries.get(name);
          const reason = describe(error);
          if (previous?.value !== undefined) {
            this.log('warn', 'Reading a setting failed; serving the value read earlier', { setting: name, reason });
            return previous.value;
          }
          this.log('error', 'Reading a setting failed', { setting: name, reason });
          throw new Error(`Could not read the setting ${name}: ${reason}`);
        },
      )
      .finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, loading);
    return loading;
  }
}

/** An error's code and message, never a value: SDK errors do not echo secret values. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
    const label = [code, statusCode].filter((part) => typeof part === 'string' || typeof part === 'number').join(' ');
    return label === '' ? `${error.name}: ${error.message}` : `${error.name} (${label}): ${error.message}`;
  }
  return String(error);
}
