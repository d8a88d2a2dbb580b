import type { LogLevel } from './protocol';

/** One line of the devhost's log: its own messages, and the app's logs with their invocation. */
export interface DevhostLogEntry {
  level: LogLevel;
  message: string;
  /** `user`: the app's context.log; `system`: the functions library; `console`: the worker's stdout/stderr; absent: the host. */
  category?: 'user' | 'system' | 'console';
  functionName?: string;
  invocationId?: string;
}

export type DevhostLog = (entry: DevhostLogEntry) => void;

const rank: Record<LogLevel, number> = {
  trace: 0,
  debug: 1,
  information: 2,
  warning: 3,
  error: 4,
  critical: 5,
  none: 6,
};

/** Whether `level` is at least `minimum`. */
export function atLeast(level: LogLevel, minimum: LogLevel): boolean {
  return rank[level] >= rank[minimum];
}

/**
 * The default log: one line per entry on standard error (warnings and errors) or standard output,
 * prefixed with the time and, for the app's own logs, the function and invocation id.
 */
export function consoleLog(prefix = '', minimum: LogLevel = 'information'): DevhostLog {
  return (entry) => {
    if (!atLeast(entry.level, minimum)) return;
    const time = new Date().toISOString().slice(11, 23);
    const where =
      entry.category === 'user' && entry.functionName ? ` [${entry.functionName} ${entry.invocationId ?? ''}]` : '';
    const line = `${prefix}[${time}]${where} ${entry.message}`;
    if (atLeast(entry.level, 'warning')) console.error(line);
    else console.log(line);
  };
}
