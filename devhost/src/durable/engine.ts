import type { DurableEngine, DurableEngineOptions } from './contract';

/**
 * Creates the Durable engine for one task hub. The host calls this once per app it serves and is
 * its only caller (see contract.ts).
 */
export function createDurableEngine(options: DurableEngineOptions): DurableEngine {
  // Placeholder until the engine lands: the host can be built and tested against the contract.
  void options;
  throw new Error('The Durable engine is not implemented yet');
}
