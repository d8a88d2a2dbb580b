import type { HttpRequest, InvocationContext } from '@azure/functions';
import { ServiceUnavailableError } from '@patient-records/platform';

import type { HttpAuditClient, ReadAuditEntry } from '../audit/audit-client';
import { actorOf, correlationIdOf, traceOf } from './request-context';

/**
 * Records a read in the audit register before its answer leaves. Fails closed: when the register
 * cannot be reached the read is `503`, never answered unaudited.
 */
export async function auditRead(
  audit: HttpAuditClient,
  request: HttpRequest,
  context: InvocationContext,
  entry: Pick<ReadAuditEntry, 'operation' | 'resource' | 'resultCount' | 'outcome'>,
): Promise<void> {
  const full: ReadAuditEntry = { ...entry, actor: actorOf(request), operationId: correlationIdOf(context), at: new Date().toISOString() };
  const trace = traceOf(context);
  if (trace) full.trace = trace;
  try {
    await audit.recordRead(full);
  } catch (error) {
    context.warn(`The audit register did not record a read (invocation ${context.invocationId}): ${error instanceof Error ? error.message : 'unknown error'}`);
    throw new ServiceUnavailableError('The audit register is unavailable, so the read was not answered. Retry later.', 2, {
      code: 'audit_unavailable',
    });
  }
}
