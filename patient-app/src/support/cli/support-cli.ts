#!/usr/bin/env node
/**
 * `npm run support -- <command> [options]`: the support API from a terminal or a script, against
 * the local stack (default) or a deployed system through APIM (`--base-url`, `--key`).
 * Exit codes: 0 done, 1 other error, 2 usage, 3 not found, 4 refused (conflict), 5 key refused,
 * 6 unavailable (the API, the audit register or the network).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { formatDetail, formatList } from './format';

export const EXIT = { ok: 0, error: 1, usage: 2, notFound: 3, refused: 4, unauthorized: 5, unavailable: 6 } as const;

const COMMON = `Options for every command:
  --base-url <url>   the support API: http://127.0.0.1:$PATIENT_APP_PORT/api/support (default, the local
                     stack), or https://<apim-host>/support through APIM
  --key <key>        the support key (default: $SUPPORT_API_KEY, $LOCAL_SUPPORT_API_KEY, then the local
                     stack's .local/stack-secrets.json); sent as x-functions-key to /api/support, as the
                     APIM subscription key otherwise
  --user <id>        who acts, recorded in the audit register (default: $SUPPORT_USER, then your login)
  --json             print JSON instead of a table
  -h, --help         this help`;

const HELP: Record<string, string> = {
  list: `Usage: npm run support -- list [filters]

Lists writes, newest first, with counts per status and outcome for the range.
  --status <s,…>       running, completed, failed, terminated
  --outcome <o,…>      succeeded, rejected, compensated, failed, inProgress
  --kind <k,…>         createPatient, updatePatient, deletePatient, createTestResult
  --from <iso> --to <iso>   time range (default: the last 24 hours)
  --since <n>{m|h|d}   shorthand for --from now minus n
  --operation-id <id>  --patient-id <id>
  --page-size <n>      (default 50)   --all   follow every page`,
  show: `Usage: npm run support -- show <instanceId>

One write: status, outcome, why, its timeline (every attempt, retry delay and compensation step with
durations and failure reasons), its audit trail and the query for its telemetry.`,
  export: `Usage: npm run support -- export <instanceId> [--output <file>] [--reason <why>]

The write and its full history as JSON, for npm run replay (written to --output or printed).
Recorded in the audit register (reason default: "export for investigation").`,
  restart: `Usage: npm run support -- restart <instanceId> --reason <why>

Starts a failed or compensated write again as a new write (same input, new operation id), linked to
the old one. Recorded in the audit register before it runs.`,
  terminate: `Usage: npm run support -- terminate <instanceId> --reason <why>

Stops a running write. Recorded in the audit register before it runs.`,
  purge: `Usage: npm run support -- purge <instanceId> --reason <why>
       npm run support -- purge --status <s,…> [other list filters] --reason <why>

Deletes the orchestration history of one ended write, or of every ended write the filters select
(at most 100 per call). The audit register keeps its records, and records each purge.`,
  erase: `Usage: npm run support -- erase <patientId> --reason <why>

Erases a deleted patient's personal data, for an accepted erasure request (docs/support-runbook.md):
the content of every version (ids, kinds and times stay), the test results, and every write of the
patient in the task hub. Only a deleted patient, and not while a write of it runs. Recorded in the
audit register before it runs; running it again finishes an erasure cut short.`,
};

const USAGE = `Usage: npm run support -- <command> [options]

Commands:
  list                     writes with filters and counts
  show <instanceId>        one write: timeline, audit trail, telemetry query
  export <instanceId>      the write and its history as JSON, for npm run replay
  restart <instanceId>     start a failed or compensated write again (--reason required)
  terminate <instanceId>   stop a running write (--reason required)
  purge <instanceId>|<filters>   delete ended writes' history (--reason required)
  erase <patientId>        erase a deleted patient's personal data (--reason required)

npm run support -- <command> --help   shows a command's options.

${COMMON}

Exit codes: 0 done, 1 other error, 2 usage, 3 not found, 4 refused (conflict), 5 key refused,
6 unavailable (the API, the audit register or the network).`;

const OPTIONS = {
  'base-url': { type: 'string' },
  key: { type: 'string' },
  user: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  reason: { type: 'string' },
  output: { type: 'string' },
  status: { type: 'string' },
  outcome: { type: 'string' },
  kind: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  since: { type: 'string' },
  'operation-id': { type: 'string' },
  'patient-id': { type: 'string' },
  'page-size': { type: 'string' },
  all: { type: 'boolean', default: false },
} satisfies ParseArgsConfig['options'];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Where `.local/` is. */
  repositoryRoot: string;
  fetch: typeof fetch;
  now: () => Date;
}

function exitCodeFor(status: number): number {
  if (status === 404) return EXIT.notFound;
  if (status === 409 || status === 410 || status === 412) return EXIT.refused;
  if (status === 401 || status === 403) return EXIT.unauthorized;
  if (status === 503 || status === 502 || status === 504) return EXIT.unavailable;
  if (status === 400 || status === 413 || status === 415) return EXIT.usage;
  return EXIT.error;
}

/** The key the local stack generated (`npm start` keeps it in `.local/stack-secrets.json`). */
function localKey(repositoryRoot: string): string | undefined {
  const file = join(repositoryRoot, '.local', 'stack-secrets.json');
  if (!existsSync(file)) return undefined;
  try {
    const secrets = JSON.parse(readFileSync(file, 'utf8')) as { supportApiKey?: unknown };
    return typeof secrets.supportApiKey === 'string' ? secrets.supportApiKey : undefined;
  } catch {
    return undefined;
  }
}

function sinceToFrom(since: string, now: Date): string {
  const match = /^(\d+)([mhd])$/.exec(since);
  if (!match) throw new CliError(`--since takes a number and a unit: 30m, 6h, 7d (got "${since}")`, EXIT.usage);
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'm' | 'h' | 'd'];
  return new Date(now.getTime() - Number(match[1]) * unit).toISOString();
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (command === undefined) {
    (values.help ? io.out : io.err)(USAGE);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  const help = HELP[command];
  if (help === undefined) {
    io.err(`Unknown command "${command}".\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (values.help) {
    io.out(`${help}\n\n${COMMON}`);
    return EXIT.ok;
  }

  const baseUrl = (values['base-url'] ?? `http://127.0.0.1:${io.env.PATIENT_APP_PORT ?? '7071'}/api/support`).replace(
    /\/+$/,
    '',
  );
  const key = values.key ?? io.env.SUPPORT_API_KEY ?? io.env.LOCAL_SUPPORT_API_KEY ?? localKey(io.repositoryRoot);
  if (key === undefined) {
    io.err(
      'No support key: pass --key, set SUPPORT_API_KEY, or start the local stack (npm start), which keeps one in .local/.',
    );
    return EXIT.usage;
  }
  const keyHeader = new URL(baseUrl).pathname.startsWith('/api/') ? 'x-functions-key' : 'Ocp-Apim-Subscription-Key';
  const user = values.user ?? io.env.SUPPORT_USER ?? userInfo().username;

  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
    let response: Response;
    try {
      response = await io.fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          [keyHeader]: key,
          'x-caller-user': user,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (error) {
      throw new CliError(
        `Cannot reach ${baseUrl}: ${error instanceof Error ? error.message : String(error)}. Is the stack running (npm start)?`,
        EXIT.unavailable,
      );
    }
    const data = (await response.json().catch(() => ({}))) as {
      error?: { code?: string; message?: string; details?: unknown };
    };
    if (!response.ok) {
      const running = (data.error?.details as { instanceIds?: unknown } | undefined)?.instanceIds;
      const details = Array.isArray(data.error?.details)
        ? ` (${(data.error.details as { field?: string; messages?: string[] }[]).map((item) => `${item.field ?? ''}: ${(item.messages ?? []).join('; ')}`).join(', ')})`
        : Array.isArray(running)
          ? ` (${running.join(', ')})`
          : '';
      throw new CliError(
        `${response.status} ${data.error?.code ?? ''}: ${data.error?.message ?? response.statusText}${details}`,
        exitCodeFor(response.status),
      );
    }
    return data;
  };

  const reason = (): string => {
    if (values.reason === undefined || values.reason.trim() === '')
      throw new CliError(
        `${command} needs --reason "<why>" (recorded in the audit register; no personal data).`,
        EXIT.usage,
      );
    return values.reason;
  };
  const instanceId = (what = 'instance id'): string => {
    const id = rest[0];
    if (id === undefined || rest.length > 1) throw new CliError(`${command} takes one ${what}.\n\n${help}`, EXIT.usage);
    return encodeURIComponent(id);
  };
  const filters = (): URLSearchParams => {
    const query = new URLSearchParams();
    const map: [string, string | undefined][] = [
      ['status', values.status],
      ['outcome', values.outcome],
      ['kind', values.kind],
      ['from', values.since !== undefined ? sinceToFrom(values.since, io.now()) : values.from],
      ['to', values.to],
      ['operationId', values['operation-id']],
      ['patientId', values['patient-id']],
      ['pageSize', values['page-size']],
    ];
    for (const [name, value] of map) if (value !== undefined && value !== '') query.set(name, value);
    return query;
  };

  try {
    switch (command) {
      case 'list': {
        if (rest.length > 0) throw new CliError(`list takes no positional arguments.\n\n${help}`, EXIT.usage);
        const query = filters();
        type Page = { items: unknown[]; continuationToken: string | null };
        let page = (await call('GET', `/writes?${query.toString()}`)) as Page;
        const first = page;
        const items = [...page.items];
        for (let pages = 1; values.all && page.continuationToken !== null && pages < 1000; pages += 1) {
          query.set('continuationToken', page.continuationToken);
          page = (await call('GET', `/writes?${query.toString()}`)) as Page;
          items.push(...page.items);
        }
        const result = { ...first, items, continuationToken: page.continuationToken };
        io.out(values.json ? JSON.stringify(result, null, 2) : formatList(result as Parameters<typeof formatList>[0]));
        return EXIT.ok;
      }
      case 'show': {
        const detail = await call('GET', `/writes/${instanceId()}`);
        io.out(
          values.json ? JSON.stringify(detail, null, 2) : formatDetail(detail as Parameters<typeof formatDetail>[0]),
        );
        return EXIT.ok;
      }
      case 'export': {
        const id = instanceId();
        const exported = await call('POST', `/writes/${id}/export`, {
          reason: values.reason ?? 'export for investigation',
        });
        const text = `${JSON.stringify(exported, null, 2)}\n`;
        if (values.output !== undefined) {
          const file = resolve(io.cwd, values.output);
          writeFileSync(file, text);
          io.err(`Exported ${decodeURIComponent(id)} to ${file}; replay it with: npm run replay -- ${file}`);
        } else io.out(text.trimEnd());
        return EXIT.ok;
      }
      case 'restart':
      case 'terminate': {
        const id = instanceId();
        const result = (await call('POST', `/writes/${id}/${command}`, { reason: reason() })) as {
          newInstanceId?: string;
          actionId: string;
        };
        if (values.json) io.out(JSON.stringify(result, null, 2));
        else if (command === 'restart')
          io.out(
            `Restarted ${decodeURIComponent(id)} as ${result.newInstanceId ?? '?'} (audit action ${result.actionId}).\nFollow it with: npm run support -- show ${result.newInstanceId ?? ''}`,
          );
        else io.out(`Terminated ${decodeURIComponent(id)} (audit action ${result.actionId}).`);
        return EXIT.ok;
      }
      case 'purge': {
        if (rest.length > 0) {
          const id = instanceId();
          const result = await call('POST', `/writes/${id}/purge`, { reason: reason() });
          io.out(values.json ? JSON.stringify(result, null, 2) : `Purged ${decodeURIComponent(id)}.`);
          return EXIT.ok;
        }
        const query = filters();
        if (query.size === 0)
          throw new CliError(
            `purge needs an instance id or filters (e.g. --status failed --since 7d).\n\n${help}`,
            EXIT.usage,
          );
        const result = (await call('POST', `/writes/purge?${query.toString()}`, { reason: reason() })) as {
          purged: number;
          remaining: number;
        };
        io.out(
          values.json
            ? JSON.stringify(result, null, 2)
            : `Purged ${result.purged} writes; ${result.remaining} more match (run again to purge them).`,
        );
        return EXIT.ok;
      }
      case 'erase': {
        const id = instanceId('patient id');
        const result = (await call('POST', `/patients/${id}/erase`, { reason: reason() })) as {
          versionsScrubbed: number;
          testsRemoved: number;
          instancesPurged: number;
          actionId: string;
        };
        io.out(
          values.json
            ? JSON.stringify(result, null, 2)
            : `Erased patient ${decodeURIComponent(id)}: ${result.versionsScrubbed} versions emptied, ${result.testsRemoved} test results and ${result.instancesPurged} write instances removed (audit action ${result.actionId}).`,
        );
        return EXIT.ok;
      }
      default:
        return EXIT.usage;
    }
  } catch (error) {
    if (error instanceof CliError) {
      io.err(error.message);
      return error.exitCode;
    }
    throw error;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2), {
    out: (text) => console.log(text),
    err: (text) => console.error(text),
    env: process.env,
    // npm runs scripts from the repository root; paths are relative to where the command was typed.
    cwd: process.env.INIT_CWD ?? process.cwd(),
    // patient-app/dist/support/cli/ → the repository root.
    repositoryRoot: resolve(__dirname, '..', '..', '..', '..'),
    fetch: globalThis.fetch,
    now: () => new Date(),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exitCode = EXIT.error;
    },
  );
}
