import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The host.json settings the devhost honours. */
export interface HostSettings {
  /** The file they came from, or undefined when none was found (defaults apply). */
  file: string | undefined;
  routePrefix: string;
  /** `functionTimeout` in milliseconds; undefined for no limit (`-1`). */
  functionTimeoutMs: number | undefined;
  /** The text form, for messages (`00:05:00`). */
  functionTimeoutText: string | undefined;
  hubName: string | undefined;
  maxConcurrentActivityFunctions: number;
  maxConcurrentOrchestratorFunctions: number;
}

/** The Functions host's defaults for a Premium/dedicated plan: no timeout limit there is 30 minutes. */
const DEFAULT_FUNCTION_TIMEOUT = '00:30:00';

/** Parses a .NET TimeSpan (`[d.]hh:mm:ss[.fff]`) into milliseconds; `-1` means no limit. */
export function parseTimeSpan(text: string): number | undefined {
  if (text.trim() === '-1') return undefined;
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a TimeSpan (expected [d.]hh:mm:ss)`);
  const [, days = '0', hours = '0', minutes = '0', seconds = '0', fraction = '0'] = match;
  return (
    ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 +
    Number(seconds) * 1000 +
    Math.round(Number(`0.${fraction}`) * 1000)
  );
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function positiveInteger(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new Error(`host.json ${name} must be a positive integer`);
  return value;
}

/**
 * Reads host.json: the given file; else the app's own host.json (as Azure deploys it); else the
 * repository's shared one (`repoHostJson`); else the defaults.
 */
export function readHostSettings(
  appDir: string,
  hostJsonPath: string | undefined,
  repoHostJson: string | undefined,
): HostSettings {
  const candidates = hostJsonPath
    ? [hostJsonPath]
    : [path.join(appDir, 'host.json'), ...(repoHostJson ? [repoHostJson] : [])];
  const file = candidates.find((candidate) => existsSync(candidate));
  if (hostJsonPath && !file) throw new Error(`host.json not found: ${hostJsonPath}`);
  let json: Record<string, unknown> = {};
  if (file) {
    try {
      json = asRecord(JSON.parse(readFileSync(file, 'utf8')));
    } catch (error) {
      throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
    }
  }
  const extensions = asRecord(json.extensions);
  const http = asRecord(extensions.http);
  const durableTask = asRecord(extensions.durableTask);
  const routePrefix = typeof http.routePrefix === 'string' ? http.routePrefix.replace(/^\/+|\/+$/g, '') : 'api';
  const timeoutText = typeof json.functionTimeout === 'string' ? json.functionTimeout : DEFAULT_FUNCTION_TIMEOUT;
  const functionTimeoutMs = parseTimeSpan(timeoutText);
  return {
    file,
    routePrefix,
    functionTimeoutMs,
    functionTimeoutText: functionTimeoutMs === undefined ? undefined : timeoutText,
    hubName: typeof durableTask.hubName === 'string' && durableTask.hubName ? durableTask.hubName : undefined,
    maxConcurrentActivityFunctions: positiveInteger(
      durableTask.maxConcurrentActivityFunctions,
      10,
      'maxConcurrentActivityFunctions',
    ),
    maxConcurrentOrchestratorFunctions: positiveInteger(
      durableTask.maxConcurrentOrchestratorFunctions,
      10,
      'maxConcurrentOrchestratorFunctions',
    ),
  };
}

/**
 * The app's settings from `local.settings.json` `Values`, as Core Tools applies them: a variable
 * already set in the environment wins over the file.
 */
export function readLocalSettings(appDir: string): Record<string, string> {
  const file = path.join(appDir, 'local.settings.json');
  if (!existsSync(file)) return {};
  let parsed: Record<string, unknown>;
  try {
    parsed = asRecord(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const values = asRecord(parsed.Values);
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === null || value === undefined) continue;
    settings[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return settings;
}
