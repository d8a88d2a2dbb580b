/** Today's write orchestrators, registered for replay (their activities never run). */
import type { WriteDependencies } from '../ports';
import { register } from '../register';
import { OrchestratorRegistry } from './engine';

const notDuringReplay = (): Promise<never> => Promise.reject(new Error('activities do not run during replay'));

const NO_PORTS: WriteDependencies = {
  store: {
    createPatient: notDuringReplay,
    updatePatient: notDuringReplay,
    deletePatient: notDuringReplay,
    createTestResult: notDuringReplay,
    undo: notDuringReplay,
  },
  audit: { record: notDuringReplay },
  cipher: { open: notDuringReplay },
};

/** A registry holding the write orchestrations exactly as `register` gives them to the Functions runtime. */
export function todaysOrchestrators(): OrchestratorRegistry {
  const registry = new OrchestratorRegistry();
  register(NO_PORTS, registry);
  return registry;
}
