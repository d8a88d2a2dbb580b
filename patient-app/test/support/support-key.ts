import type { Stack } from './stack';

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
