#!/usr/bin/env node
/**
 * `npm run replay -- <history.json> [--orchestrator <name>] [--strict-inputs] [--json]`
 *
 * Replays a recorded write orchestration against today's code, offline: no store, no host.
 * Exit codes: 0 same path, 1 divergence, 2 the file or the arguments are wrong.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { HistoryFormatError } from '../support/history';
import { formatReplay } from './files';
import { readRecording } from './recording';
import { replay } from './replayer';
import { todaysOrchestrators } from './today';

const USAGE = `Usage: npm run replay -- <history.json> [--orchestrator <name>] [--strict-inputs] [--json]

Replays a recorded orchestration against today's orchestrator code with the real durable-functions
engine, prints the path it takes, and stops at the first divergence.

  <history.json>         a 'npm run support -- export' file, or the JSON of the Durable HTTP API's
                         GET .../instances/{id}?showHistory=true&showHistoryOutput=true&showInput=true
                         (Azure or local), or a bare array of history events
  --orchestrator <name>  the orchestrator to run (default: the one the file records)
  --strict-inputs        treat a different activity input as a divergence (default: a warning)
  --json                 print the result as JSON

Exit codes: 0 today's code takes the recorded path, 1 it diverges, 2 bad arguments or file.`;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        orchestrator: { type: 'string' },
        'strict-inputs': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    console.log(USAGE);
    return 0;
  }
  const [file, ...extra] = args.positionals;
  if (file === undefined || extra.length > 0) {
    console.error(USAGE);
    return 2;
  }
  // npm runs scripts from the repository root; resolve the path from where the command was typed.
  const path = resolve(process.env.INIT_CWD ?? process.cwd(), file);
  let recording;
  try {
    const document = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    recording = readRecording(
      document,
      args.values.orchestrator === undefined ? {} : { orchestrator: args.values.orchestrator },
    );
  } catch (error) {
    const reason =
      error instanceof SyntaxError
        ? `not JSON: ${error.message}`
        : error instanceof HistoryFormatError || error instanceof Error
          ? error.message
          : String(error);
    console.error(`Cannot read ${path}: ${reason}`);
    return 2;
  }
  const registry = todaysOrchestrators();
  if (!registry.has(recording.orchestrator)) {
    console.error(
      `No orchestrator named ${recording.orchestrator} in today's code (known: ${registry.names().join(', ')}); pass --orchestrator <name>.`,
    );
    return 2;
  }
  const result = await replay(recording, registry.invoke, { strictInputs: args.values['strict-inputs'] });
  console.log(args.values.json ? JSON.stringify(result, null, 2) : formatReplay(result));
  return result.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 2;
  },
);
