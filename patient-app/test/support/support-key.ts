import { randomBytes } from 'node:crypto';

import { useAuditProxy } from './audit-proxy';
import { sleep } from './drills';
import { type Answer, call, type Stack, useStack } from './stack';

/** Installs `key` as the `support` function key of every support function, as `npm start` does. */
export async function installSupportKey(target: Stack, key: string): Promise<void> {
  const host = target.patients();
  const functions = host
    .functions()
    .http.filter((item) => /(^|\/)support(\/|$)/i.test(item.route) && item.authLevel === 'function');
  if (functions.length === 0) throw new Error('patient-app registered no support functions');
  for (const fn of functions) {
    const response = await fetch(`${host.url}/admin/functions/${fn.name}/keys/support`, {
      method: 'PUT',
      headers: { 'x-functions-key': host.masterKey, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'support', value: key }),
    });
    if (!response.ok) throw new Error(`could not install the support key on ${fn.name}: ${response.status}`);
  }
}

/** A test file's stack for the support API: audit records pass through a proxy, the support key is installed. */
export interface SupportStack {
  stack: Stack;
  /** The proxy in front of audit-app: `setRule` makes it answer 503 for chosen records. */
  proxy: ReturnType<typeof useAuditProxy>;
  supportKey: string;
  /** Calls `/api/support{path}` with the support key, as `support.tester`. */
  support: (method: string, path: string, body?: unknown) => Promise<Answer>;
  /** Polls a write through the support API until it has ended (bounded: the retry policies end every write within a minute). */
  ended: (instanceId: string) => Promise<Answer>;
}

/** Registers the hooks of a support stack (audit proxy, stack, support key, in that order) for the test file. */
export function useSupportStack(name: string, patientEnv: Record<string, string> = {}): SupportStack {
  const supportKey = `${name}-${randomBytes(8).toString('hex')}`;
  const holder: { stack?: Stack } = {};
  const proxy = useAuditProxy(() => {
    if (!holder.stack) throw new Error('no stack');
    return holder.stack.audit().url;
  });
  const stack = useStack({
    auditApiUrl: () => proxy.url(),
    patientEnv: { SUPPORT_API_KEY: supportKey, WRITE_WAIT_TIMEOUT_MS: '500', ...patientEnv },
  });
  holder.stack = stack;
  beforeAll(() => installSupportKey(stack, supportKey));

  const support = (method: string, path: string, body?: unknown): Promise<Answer> =>
    call(stack, method, `/api/support${path}`, {
      key: supportKey,
      headers: { 'x-caller-user': 'support.tester' },
      ...(body === undefined ? {} : { body }),
    });
  const ended = async (instanceId: string): Promise<Answer> => {
    for (let attempt = 0; attempt < 240; attempt += 1) {
      const answer = await support('GET', `/writes/${instanceId}`);
      if (answer.status === 200 && answer.body.write.status !== 'running') return answer;
      await sleep(250);
    }
    throw new Error(`write ${instanceId} did not end`);
  };
  return { stack, proxy, supportKey, support, ended };
}
