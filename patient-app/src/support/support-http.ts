/** What every support API handler does first: the support key, then the services and the Durable client. */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Actor } from '@patient-records/orchestrations';
import { BadRequestError, handle, NotFoundError, readJsonBody } from '@patient-records/platform';
import * as df from 'durable-functions';

import { actorOf } from '../http/request-context';
import { type SupportContext, supportContext } from './support-context';
import { requireSupportKey } from './support-key';
import { isInstanceId, readReason } from './support-query';
import type { SupportClient } from './support-service';

export interface SupportCall extends SupportContext {
  client: SupportClient;
}

export function supportHandler(
  fn: (request: HttpRequest, call: SupportCall, context: InvocationContext) => Promise<HttpResponseInit>,
) {
  return handle(async (request, context) => {
    const support = await supportContext();
    await requireSupportKey(request, support.secrets);
    return fn(request, { ...support, client: df.getClient(context) }, context);
  });
}

/** The route's instance id; an id the Durable API would not accept cannot name a write. */
export function instanceIdOf(request: HttpRequest): string {
  const instanceId = request.params['instanceId'];
  if (!isInstanceId(instanceId))
    throw new NotFoundError('No write with this instance id is known.', { code: 'write_not_found' });
  return instanceId;
}

/** The route's patient id (ids are lower-case UUIDs; anything the store cannot hold is unknown). */
export function patientIdOf(request: HttpRequest): string {
  const patientId = request.params['patientId']?.toLowerCase();
  if (!isInstanceId(patientId))
    throw new NotFoundError('No patient with this id is known.', { code: 'patient_not_found' });
  return patientId;
}

/**
 * Who acts, and why. Support actions name a person: APIM's support product passes the signed-in
 * user as `x-caller-user`; locally the CLI and the page send it.
 */
export async function actionOf(request: HttpRequest): Promise<{ actor: Actor; reason: string; body: unknown }> {
  const actor = actorOf(request);
  if (actor.user === undefined) {
    throw new BadRequestError('Support actions must name the person acting (header x-caller-user).', {
      code: 'support_user_required',
    });
  }
  const body = await readJsonBody(request, { maxBytes: 4096 });
  return { actor, reason: readReason(body), body };
}
