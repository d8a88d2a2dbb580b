/**
 * Replaying recorded histories kept as files: the regression gate (like Temporal's
 * `runReplayHistories`) and the text the replay CLI prints.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { readRecording } from './recording';
import type { EpisodeInvoker, ReplayOptions, ReplayResult } from './replayer';
import { replay } from './replayer';

/** The `.json` files in `folder` (not recursive), sorted, as absolute or folder-relative paths. */
export function listHistoryFiles(folder: string): string[] {
  return readdirSync(folder)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => join(folder, name));
}

/** Reads and replays one history file. `orchestrator` overrides the name the file records. */
export async function replayHistoryFile(
  file: string,
  invoke: EpisodeInvoker,
  options: ReplayOptions & { orchestrator?: string } = {},
): Promise<ReplayResult> {
  const document = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  return replay(
    readRecording(document, options.orchestrator === undefined ? {} : { orchestrator: options.orchestrator }),
    invoke,
    options,
  );
}

/** Replays every history file in `folder`; one result per file, in file order. */
export async function replayHistories(
  folder: string,
  invoke: EpisodeInvoker,
  options: ReplayOptions = {},
): Promise<{ file: string; result: ReplayResult }[]> {
  const results: { file: string; result: ReplayResult }[] = [];
  for (const file of listHistoryFiles(folder))
    results.push({ file, result: await replayHistoryFile(file, invoke, options) });
  return results;
}

/** Throws an error that reads like the CLI's report when `file` does not replay on its recorded path. */
export async function assertReplays(
  file: string,
  invoke: EpisodeInvoker,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const result = await replayHistoryFile(file, invoke, options);
  if (!result.ok) throw new Error(`${file} does not replay against today's code:\n${formatReplay(result)}`);
  return result;
}

/** The replay report people read: the path, then the verdict. */
export function formatReplay(result: ReplayResult): string {
  const lines = [`replay ${result.orchestrator}, instance ${result.instanceId}`];
  for (const line of result.path)
    lines.push(
      `  ${line.step > 0 ? `step ${String(line.step).padStart(2)}` : '       '}  ${line.what.padEnd(62)} ${line.outcome}`,
    );
  for (const warning of result.warnings) lines.push(`  warning: ${warning}`);
  if (result.divergence !== undefined) {
    const { divergence } = result;
    lines.push(`DIVERGENCE at step ${divergence.step}: ${divergence.message}`);
    lines.push(`  recorded: ${divergence.recorded}`);
    lines.push(`  today:    ${divergence.today}`);
  } else {
    const end =
      result.end === 'running' ? 'the recording ends while the orchestration runs' : `the orchestration ${result.end}`;
    lines.push(`OK: today's code takes the recorded path; ${end} (${result.episodes} episodes)`);
  }
  return lines.join('\n');
}
