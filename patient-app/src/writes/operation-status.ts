import type { DurableClient } from 'durable-functions';

import type { RestartLinks } from '../support/restart-links';
import type { WriteService, WriteStatus } from './write-service';

/** How many restarts of restarts a link follows: each took a support action, so real chains are short. */
const maxRestartHops = 10;

/** What `GET /api/operations/{id}` answers about: the write itself, or the restart support started for it. */
export interface OperationStatus {
  status: WriteStatus;
  /** The operation whose status this is, when it is a (the latest) support restart of the one asked about. */
  restartedAs?: string;
}

/** Whether support can have restarted the write: it ended unapplied (unavailable, failed, terminated), or its history was purged. */
function restartable(status: WriteStatus): boolean {
  switch (status.state) {
    case 'running':
      return false;
    case 'unknown':
    case 'failed':
      return true;
    case 'done':
      return status.result.outcome === 'unavailable';
  }
}

/**
 * The status of a write, following support restarts: a consumer who got `202`/`503` with an
 * operation id learns from that id what became of the write. A write that was restarted (even one
 * purged since) answers with its latest restart that has started; the link is claimed a moment
 * before the restart starts, so a restart not (or no longer) known is passed over. Only a write
 * that can have been restarted costs a read of the links: one that runs, applied or was refused
 * answers from the task hub alone.
 */
export async function operationStatus(
  writes: WriteService,
  client: DurableClient,
  restarts: Pick<RestartLinks, 'restartedAs'>,
  operationId: string,
): Promise<OperationStatus> {
  const own = await writes.status(client, operationId);
  if (!restartable(own)) return { status: own };
  const chain: string[] = [];
  let next = await restarts.restartedAs(operationId);
  while (next !== undefined && chain.length < maxRestartHops) {
    chain.push(next);
    next = await restarts.restartedAs(next);
  }
  for (const restart of chain.reverse()) {
    const status = await writes.status(client, restart);
    if (status.state !== 'unknown') return { status, restartedAs: restart };
  }
  return { status: own };
}
