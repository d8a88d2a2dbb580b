import type { DurableEngine, DurableEngineOptions } from './contract';
import { ManagementApi } from './management';
import { TaskHub } from './task-hub';

/**
 * Creates the Durable engine for one task hub. The host calls this once per app it serves and is
 * its only caller (see contract.ts). One engine owns its hub: the store serialises nothing for
 * concurrent writers (the FerretDB defect), so two engines on one hub would corrupt it.
 */
export function createDurableEngine(options: DurableEngineOptions): DurableEngine {
  const hub = new TaskHub(options);
  const api = new ManagementApi(hub);
  return {
    start: () => hub.start(),
    stop: () => hub.stop(),
    handle: (request) => api.handle(request),
  };
}
