import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The system key the Durable extension's webhook links carry (`code=`), as in Azure. */
export const DURABLE_SYSTEM_KEY_NAME = 'durabletask_extension';
/** The name Azure gives the master key in the key admin API. */
export const MASTER_KEY_NAME = '_master';

/** The keys of one app, as kept on disk (git-ignored `.local/keys/<app>.json`). */
export interface KeysFile {
  masterKey: string;
  hostKeys: Record<string, string>;
  systemKeys: Record<string, string>;
  functionKeys: Record<string, Record<string, string>>;
}

export type KeyScope = { kind: 'host' } | { kind: 'system' } | { kind: 'function'; functionName: string };

/** What a presented key grants, mirroring Azure's authorization levels. */
export type KeyMatch = 'master' | 'host' | 'system' | 'function' | undefined;

/** A key value Azure would generate: 40 random bytes, URL-safe so it can go in `?code=` unescaped. */
export function generateKey(): string {
  return randomBytes(40).toString('base64url');
}

const keyNamePattern = /^[A-Za-z0-9_.-]{1,128}$/;

export class KeyError extends Error {
  override readonly name = 'KeyError';
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The app's keys: master, named host keys, system keys and named per-function keys, persisted to a
 * JSON file (mode 0600) so that they survive restarts. Several keys of each kind can coexist,
 * which is what a rotation needs (add the new key, switch callers, remove the old one).
 */
export class KeyStore {
  readonly #file: string | undefined;
  readonly #data: KeysFile;
  /** A master key given on the command line overrides the stored one without replacing it on disk. */
  #masterOverride: string | undefined;

  constructor(file: string | undefined, masterKey?: string) {
    this.#file = file;
    if (file && existsSync(file)) {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<KeysFile>;
      this.#data = {
        masterKey: typeof parsed.masterKey === 'string' && parsed.masterKey ? parsed.masterKey : generateKey(),
        hostKeys: { ...parsed.hostKeys },
        systemKeys: { ...parsed.systemKeys },
        functionKeys: { ...parsed.functionKeys },
      };
    } else {
      this.#data = { masterKey: generateKey(), hostKeys: {}, systemKeys: {}, functionKeys: {} };
    }
    if (!('default' in this.#data.hostKeys)) this.#data.hostKeys.default = generateKey();
    this.#data.systemKeys[DURABLE_SYSTEM_KEY_NAME] ??= generateKey();
    this.#masterOverride = masterKey;
    this.save();
  }

  get masterKey(): string {
    return this.#masterOverride ?? this.#data.masterKey;
  }

  get systemKey(): string {
    return this.#data.systemKeys[DURABLE_SYSTEM_KEY_NAME] ?? '';
  }

  /** A copy of every key, for callers such as test harnesses and the stack's banner. */
  snapshot(): KeysFile {
    return {
      masterKey: this.masterKey,
      hostKeys: { ...this.#data.hostKeys },
      systemKeys: { ...this.#data.systemKeys },
      functionKeys: Object.fromEntries(
        Object.entries(this.#data.functionKeys).map(([name, keys]) => [name, { ...keys }]),
      ),
    };
  }

  /** Gives every named function a `default` key if it has none, as Azure does for HTTP functions. */
  ensureFunctionKeys(functionNames: readonly string[]): void {
    let changed = false;
    for (const name of functionNames) {
      const keys = (this.#data.functionKeys[name] ??= {});
      if (Object.keys(keys).length === 0) {
        keys.default = generateKey();
        changed = true;
      }
    }
    if (changed) this.save();
  }

  /** Which kind of key `presented` is, for the function `functionName` when given. */
  classify(presented: string | undefined, functionName?: string): KeyMatch {
    if (!presented) return undefined;
    if (sameSecret(presented, this.masterKey)) return 'master';
    if (Object.values(this.#data.hostKeys).some((key) => sameSecret(presented, key))) return 'host';
    if (Object.values(this.#data.systemKeys).some((key) => sameSecret(presented, key))) return 'system';
    if (
      functionName !== undefined &&
      Object.values(this.#data.functionKeys[functionName] ?? {}).some((key) => sameSecret(presented, key))
    ) {
      return 'function';
    }
    return undefined;
  }

  list(scope: KeyScope): { name: string; value: string }[] {
    const keys = this.#bucket(scope, false);
    const listed = Object.entries(keys ?? {}).map(([name, value]) => ({ name, value }));
    // Azure lists the master key among the host keys' admin view only on request by name; keep it out.
    return listed;
  }

  get(scope: KeyScope, name: string): string | undefined {
    if (scope.kind === 'host' && name === MASTER_KEY_NAME) return this.masterKey;
    return this.#bucket(scope, false)?.[name];
  }

  /** Creates or replaces a key; `value` undefined generates one. Returns whether it was created. */
  set(scope: KeyScope, name: string, value: string | undefined): { created: boolean; value: string } {
    const newValue = value ?? generateKey();
    if (!/^[\x21-\x7e]{16,256}$/.test(newValue)) {
      throw new KeyError('A key value must be 16 to 256 printable characters without spaces');
    }
    if (scope.kind === 'host' && name === MASTER_KEY_NAME) {
      this.#masterOverride = undefined;
      this.#data.masterKey = newValue;
      this.save();
      return { created: false, value: newValue };
    }
    if (!keyNamePattern.test(name) || name.startsWith('_')) {
      throw new KeyError(`"${name}" is not a valid key name (letters, digits, "_", "-", "."; not starting with "_")`);
    }
    const bucket = this.#bucket(scope, true) ?? {};
    const created = !(name in bucket);
    bucket[name] = newValue;
    this.save();
    return { created, value: newValue };
  }

  /** Removes a key; returns false when there was none by that name. */
  delete(scope: KeyScope, name: string): boolean {
    if (scope.kind === 'host' && name === MASTER_KEY_NAME) throw new KeyError('The master key cannot be deleted');
    const bucket = this.#bucket(scope, false);
    if (!bucket || !(name in bucket)) return false;
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
    delete bucket[name];
    this.save();
    return true;
  }

  #bucket(scope: KeyScope, create: boolean): Record<string, string> | undefined {
    if (scope.kind === 'host') return this.#data.hostKeys;
    if (scope.kind === 'system') return this.#data.systemKeys;
    if (create) return (this.#data.functionKeys[scope.functionName] ??= {});
    return this.#data.functionKeys[scope.functionName];
  }

  private save(): void {
    if (!this.#file) return;
    mkdirSync(path.dirname(this.#file), { recursive: true });
    const temporary = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.#data, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.#file);
  }
}
