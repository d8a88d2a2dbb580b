/**
 * The support page: one self-contained HTML document (inline style and script, no external
 * assets), served by `GET /api/support/ui`. It holds no data; the data comes from the support API
 * with the key the user enters. A Content-Security-Policy allows exactly this style and script
 * (by hash) and calls to this origin.
 */
import { createHash } from 'node:crypto';

import { PAGE_SCRIPT } from './page-script';

const STYLE = `
:root { color-scheme: light; --ok: #1b7f3b; --bad: #b3261e; --warn: #b86e00; --muted: #5f6368; --line: #d0d4d9; font: 15px/1.45 system-ui, sans-serif; }
body { margin: 0; color: #1f2328; background: #f6f8fa; }
header { background: #0b3d62; color: #fff; padding: 0.6rem 1rem; display: flex; flex-wrap: wrap; gap: 1rem; align-items: end; }
header h1 { font-size: 1.2rem; margin: 0 auto 0 0; }
header label { display: grid; font-size: 0.8rem; }
main { padding: 1rem; max-width: 80rem; margin: auto; }
a { color: #0b5cad; }
:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
form#filters { display: flex; flex-wrap: wrap; gap: 0.6rem; align-items: end; background: #fff; padding: 0.8rem; border: 1px solid var(--line); border-radius: 6px; }
form#filters label { display: grid; font-size: 0.8rem; color: var(--muted); }
input, select, textarea, button { font: inherit; }
button { padding: 0.35rem 0.8rem; border: 1px solid #8a9199; border-radius: 4px; background: #fff; cursor: pointer; }
button[disabled] { opacity: 0.45; cursor: not-allowed; }
button.primary { background: #0b5cad; color: #fff; border-color: #0b5cad; }
#counts { display: flex; flex-wrap: wrap; gap: 0.4rem; margin: 0.8rem 0; align-items: center; }
.count[aria-pressed=true] { background: #0b3d62; color: #fff; }
.outcome-count { color: var(--muted); font-size: 0.85rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.id { font-family: ui-monospace, monospace; font-size: 0.8rem; word-break: break-all; }
tr.attention td:first-child { box-shadow: inset 4px 0 var(--bad); }
.badge { display: inline-block; padding: 0 0.45rem; border-radius: 1rem; font-size: 0.8rem; background: #e8eaed; }
.badge.succeeded, .badge.completed { background: #d7f0de; color: var(--ok); }
.badge.failed, .badge.terminated { background: #fbe0de; color: var(--bad); }
.badge.compensated { background: #fdebd0; color: var(--warn); }
.badge.running, .badge.inProgress { background: #dbe9fb; color: #0b5cad; }
#detail h2 { outline: none; }
dl.facts-list { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; background: #fff; padding: 0.8rem; border: 1px solid var(--line); border-radius: 6px; }
dt { color: var(--muted); }
dd { margin: 0; word-break: break-all; }
.actions { display: flex; gap: 0.5rem; margin: 1rem 0; flex-wrap: wrap; }
ol.timeline { list-style: none; padding: 0; margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
li.step { display: grid; grid-template-columns: minmax(14rem, 1.2fr) 2fr minmax(12rem, 1.3fr); gap: 0.6rem; align-items: center; padding: 0.3rem 0.6rem; border-bottom: 1px solid #eef0f2; }
.track { position: relative; height: 0.9rem; background: #f1f3f4; border-radius: 3px; }
.bar { position: absolute; top: 0; bottom: 0; border-radius: 3px; background: var(--ok); min-width: 3px; }
.bar.failed { background: var(--bad); }
.bar.retry { background: repeating-linear-gradient(90deg, #9aa0a6 0 6px, transparent 6px 10px); }
.bar.compensation { background: var(--warn); }
.bar.running { background: #0b5cad; }
.facts { font-size: 0.8rem; color: var(--muted); }
.legend { font-size: 0.8rem; color: var(--muted); }
.warning { color: var(--bad); }
pre { background: #fff; border: 1px solid var(--line); padding: 0.6rem; overflow: auto; white-space: pre-wrap; }
dialog { border: 1px solid var(--line); border-radius: 8px; max-width: 34rem; }
dialog textarea { width: 100%; box-sizing: border-box; }
#status { position: sticky; bottom: 0; background: #fff; border-top: 1px solid var(--line); padding: 0.4rem 1rem; font-size: 0.85rem; }
`;

const BODY = `
<header>
  <h1>Patient records · support</h1>
  <label>Support key <input id="key" type="password" autocomplete="off" spellcheck="false"></label>
  <label>Your user id <input id="user" autocomplete="username" placeholder="e.g. j.smith"></label>
</header>
<main>
  <section id="list" aria-labelledby="list-title">
    <h2 id="list-title">Writes</h2>
    <form id="filters" role="search" aria-label="Filter writes">
      <label>Status <select name="status"><option value="">any</option><option>running</option><option>completed</option><option>failed</option><option>terminated</option></select></label>
      <label>Outcome <select name="outcome"><option value="">any</option><option>succeeded</option><option>rejected</option><option>compensated</option><option>failed</option><option>inProgress</option></select></label>
      <label>Kind <select name="kind"><option value="">any</option><option>createPatient</option><option>updatePatient</option><option>deletePatient</option><option>createTestResult</option></select></label>
      <label>From <input name="from" type="datetime-local"></label>
      <label>To <input name="to" type="datetime-local"></label>
      <label>Operation id <input name="operationId" spellcheck="false"></label>
      <label>Patient id <input name="patientId" spellcheck="false"></label>
      <button class="primary" type="submit">Search</button>
    </form>
    <div id="counts" aria-label="Writes per status"></div>
    <p id="range"></p>
    <table>
      <caption class="legend">Newest first. A red edge marks writes that need attention.</caption>
      <thead><tr><th scope="col">Created</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Outcome</th><th scope="col">Why / step</th><th scope="col">Operation id</th><th scope="col">Patient id</th></tr></thead>
      <tbody id="rows"></tbody>
    </table>
    <p><button type="button" id="previous" hidden>Previous page</button> <button type="button" id="next" hidden>Next page</button></p>
  </section>
  <section id="detail" hidden aria-labelledby="detail-title">
    <p><button type="button" id="back">← All writes</button> <button type="button" id="refresh">Refresh</button></p>
    <h2 id="detail-title" tabindex="-1">Write</h2>
    <div id="detail-body"></div>
  </section>
  <dialog id="confirm" aria-labelledby="confirm-title">
    <form id="confirm-form" method="dialog">
      <h2 id="confirm-title">Confirm</h2>
      <p id="confirm-text"></p>
      <label for="reason">Reason (required; recorded in the audit register; no personal data)</label>
      <textarea id="reason" name="reason" rows="3" maxlength="256" required minlength="3"></textarea>
      <p id="confirm-error" class="warning" role="alert"></p>
      <p><button class="primary" type="submit" id="confirm-ok">Confirm</button> <button type="button" id="confirm-cancel">Cancel</button></p>
    </form>
  </dialog>
</main>
<div id="status" role="status" aria-live="polite"></div>
`;

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The page's HTML. */
export const SUPPORT_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Patient records · support</title>
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;

/** Allows exactly the inline style and script above, and calls back to this origin only. */
export const SUPPORT_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hash(PAGE_SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
