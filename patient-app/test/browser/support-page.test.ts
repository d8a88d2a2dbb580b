/**
 * The support page in a real browser (Debian's Chromium driven by playwright-core): a write fails
 * while audit-app is down; support finds it on the page, reads its timeline, brings audit-app back,
 * restarts the write from the page with a reason, and sees the new write succeed; then erases a
 * deleted patient from the page of its delete. Screenshots of the list, the details and the
 * erasure go to test-artefacts/support-page/ (git-ignored).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

import { type Browser, chromium, type Page } from 'playwright-core';

import { call, type Stack, useStack } from '../support/stack';
import { installSupportKey } from '../support/support-key';

const CHROMIUM = '/usr/bin/chromium';
const ARTEFACTS = path.resolve(__dirname, '..', '..', '..', 'test-artefacts', 'support-page');

const supportKey = `support-page-${randomBytes(8).toString('hex')}`;
const stack: Stack = useStack({ patientEnv: { SUPPORT_API_KEY: supportKey, WRITE_WAIT_TIMEOUT_MS: '500' } });
let browser: Browser | undefined;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    execFileSync('bash', [path.join(__dirname, 'install-chromium.sh')], { stdio: 'inherit', timeout: 600_000 });
  mkdirSync(ARTEFACTS, { recursive: true });
  await installSupportKey(stack, supportKey);
  // --no-sandbox: the suite may run as root in CI containers, where Chromium's sandbox cannot start.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
}, 600_000);

afterAll(async () => {
  await browser?.close();
});

const patient = {
  firstName: 'Isaura',
  lastName: 'Brackenfold',
  gender: 'female',
  dateOfBirth: '1979-11-02',
  postCode: '8K2M',
};

it('finds a failed write, reads its timeline, restarts it after the outage, and sees it succeed', async () => {
  await stack.stopAudit();
  const created = await call(stack, 'POST', '/api/patient', { body: patient });
  const operationId = created.headers.get('x-operation-id') ?? '';
  expect(operationId).not.toBe('');

  // The list: key and user entered once, filter on failed writes, wait for the write to be listed as failed.
  await page.goto(`${stack.patients().url}/api/support/ui`);
  await page.getByLabel('Support key').fill(supportKey);
  await page.getByLabel('Support key').dispatchEvent('change');
  await page.getByLabel('Your user id').fill('page.tester');
  await page.getByLabel('Your user id').dispatchEvent('change');
  await page.getByLabel('Outcome').selectOption('failed');
  const row = page.locator('#rows tr', { hasText: operationId });
  for (let attempt = 0; attempt < 120 && (await row.count()) === 0; attempt += 1) {
    await page.getByRole('button', { name: 'Search' }).press('Enter');
    await page.waitForTimeout(500);
  }
  await expect(row.count()).resolves.toBe(1);
  await expect(row.textContent()).resolves.toContain('createPatient');
  await page.screenshot({ path: path.join(ARTEFACTS, 'list.png'), fullPage: true });

  // The detail, reached with the keyboard: the timeline shows the audit step failing after retries.
  await row.getByRole('link').focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: `Write ${operationId}` }).waitFor();
  const timeline = page.getByRole('list', { name: 'Timeline of the write' });
  await timeline.waitFor();
  await expect(timeline.textContent()).resolves.toMatch(/Step 1: audit(: attempted)? · attempt 2/);
  await expect(timeline.locator('.bar.failed').count()).resolves.toBeGreaterThan(1);
  await expect(timeline.locator('.bar.retry').count()).resolves.toBeGreaterThan(0);
  // Bars are laid out along the write's time: the last attempt starts right of the first.
  const boxes = await Promise.all((await timeline.locator('.bar.failed').all()).map((bar) => bar.boundingBox()));
  expect(boxes[boxes.length - 1]!.x).toBeGreaterThan(boxes[0]!.x + 100);
  await expect(page.locator('#detail-body').textContent()).resolves.toContain('The audit register could not be read');
  expect(page.url()).toContain(`#write=${operationId}`);
  await page.screenshot({ path: path.join(ARTEFACTS, 'detail-failed.png'), fullPage: true });

  // audit-app back: restart from the page, with a reason, confirmed in the dialog.
  await stack.startAudit();
  await page.getByRole('button', { name: 'Restart…' }).click();
  await page.getByLabel(/Reason/).fill('audit-app outage over');
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.waitForURL((url) => url.hash.startsWith('#write=') && !url.hash.includes(operationId));
  const newId = decodeURIComponent(new URL(page.url()).hash.replace('#write=', ''));

  // The new write succeeds; its page links back to the restarted one and shows its audit trail.
  const facts = page.locator('dl.facts-list');
  for (let attempt = 0; attempt < 120; attempt += 1) {
    if (((await facts.textContent()) ?? '').includes('succeeded')) break;
    await page.waitForTimeout(500);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await facts.waitFor();
  }
  await expect(facts.textContent()).resolves.toContain('succeeded');
  await expect(facts.getByRole('link', { name: operationId }).count()).resolves.toBe(1);
  await expect(page.locator('table.audit').textContent()).resolves.toMatch(/succeeded/);
  await page.screenshot({ path: path.join(ARTEFACTS, 'detail-restarted.png'), fullPage: true });

  // The old write now says where it went, and its trail holds the support action with who and why.
  await page.goto(`${stack.patients().url}/api/support/ui#write=${encodeURIComponent(operationId)}`);
  await page.locator('dl.facts-list').getByRole('link', { name: newId }).waitFor();
  await expect(page.locator('table.audit').textContent()).resolves.toMatch(
    /support-action.*page\.tester.*audit-app outage over/s,
  );
  expect(existsSync(path.join(ARTEFACTS, 'list.png'))).toBe(true);
}, 240_000);

/** A write's final answer: polls its operations link while it answers 202 (bounded: writes end within a minute). */
async function settled(answer: Awaited<ReturnType<typeof call>>): Promise<Awaited<ReturnType<typeof call>>> {
  const operationId = answer.headers.get('x-operation-id') ?? '';
  for (let attempt = 0; answer.status === 202 && attempt < 240; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    answer = await call(stack, 'GET', `/api/operations/${operationId}`);
  }
  return answer;
}

it("erases the patient of a delete that succeeded, from the delete's page, with a reason", async () => {
  const created = await settled(
    await call(stack, 'POST', '/api/patient', { body: { ...patient, firstName: 'Erasable' } }),
  );
  expect(created.status).toBe(201);
  const patientId = String(created.body.id);
  const createId = created.headers.get('x-operation-id') ?? '';
  // Only a delete that succeeded offers the erasure.
  await page.goto(`${stack.patients().url}/api/support/ui#write=${encodeURIComponent(createId)}`);
  for (const [label, value] of [
    ['Support key', supportKey],
    ['Your user id', 'page.tester'],
  ] as const) {
    await page.getByLabel(label).fill(value);
    await page.getByLabel(label).dispatchEvent('change');
  }
  await page.reload();
  await page.locator('dl.facts-list').waitFor();
  await expect(page.getByRole('button', { name: 'Erase patient…' }).count()).resolves.toBe(0);

  const deleted = await settled(await call(stack, 'DELETE', `/api/patient/${patientId}`));
  expect(deleted.status).toBe(204);
  const deleteId = deleted.headers.get('x-operation-id') ?? '';
  await page.goto(`${stack.patients().url}/api/support/ui#write=${encodeURIComponent(deleteId)}`);
  await page.getByRole('heading', { name: `Write ${deleteId}` }).waitFor();
  await page.getByRole('button', { name: 'Erase patient…' }).click();
  await expect(page.locator('#confirm-title').textContent()).resolves.toBe(`Erase patient ${patientId}?`);
  await page.getByLabel(/Reason/).fill('erasure request ER-7 accepted');
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.locator('#erased').waitFor();
  await expect(page.locator('#erased').textContent()).resolves.toBe(
    `Erased patient ${patientId}: 1 versions emptied, 0 test results and 2 writes removed.`,
  );
  await page.screenshot({ path: path.join(ARTEFACTS, 'erased.png'), fullPage: true });

  // The patient's writes are gone from the task hub, and its versions hold no content.
  const support = { key: supportKey, headers: { 'x-caller-user': 'page.tester' } };
  const writes = await Promise.all(
    [createId, deleteId].map((id) => call(stack, 'GET', `/api/support/writes/${id}`, support)),
  );
  expect(writes.map((answer) => answer.status)).toEqual([404, 404]);
  const versions = await stack.patientDb().collection('patientVersions').find({ _shardKey: patientId }).toArray();
  expect(versions.map((version) => [version['kind'], version['patient']])).toEqual([
    ['create', null],
    ['delete', null],
    ['erase', null],
  ]);
}, 120_000);
