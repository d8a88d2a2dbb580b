/** The file `support export` writes and `npm run replay` reads. */
export const EXPORT_FORMAT = 'patient-records/orchestration-export';

/** What `support export` writes: the instance's status and its full history, for replay and for the record. */
export interface OrchestrationExport {
  format: typeof EXPORT_FORMAT;
  version: 1;
  exportedAt: string;
  /** Where it came from (a base URL), for the reader; never a key. */
  source?: string;
  instance: {
    name: string;
    instanceId: string;
    runtimeStatus: string;
    createdTime?: string;
    lastUpdatedTime?: string;
    input: unknown;
    output: unknown;
    customStatus?: unknown;
  };
  /** The history exactly as the management API returned it. */
  history: unknown[];
}
