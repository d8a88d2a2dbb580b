import { createHash } from 'node:crypto';

import { supportPage } from '../../../src/functions/supportPage';
import { PAGE_SCRIPT } from '../../../src/support/page/page-script';

describe('support page', () => {
  it('is one self-contained document whose script the CSP allows by hash, and nothing else', async () => {
    const response = await supportPage();
    const html = response.body as string;
    const headers = response.headers as Record<string, string>;
    expect(headers['Content-Type']).toBe('text/html; charset=utf-8');
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(html).toContain(`<script>${PAGE_SCRIPT}</script>`);
    const scriptHash = createHash('sha256').update(PAGE_SCRIPT, 'utf8').digest('base64');
    expect(headers['Content-Security-Policy']).toContain(`script-src 'sha256-${scriptHash}'`);
    expect(headers['Content-Security-Policy']).toContain("default-src 'none'");
    expect(headers['Content-Security-Policy']).toContain("connect-src 'self'");
  });

  it('writes data with textContent only, never as HTML', () => {
    expect(PAGE_SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});
