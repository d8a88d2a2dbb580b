/**
 * The support page's script, as text (it runs in the browser, not in Node). Plain DOM, no external
 * assets, every value written with `textContent` (never parsed as HTML). Views: the list of writes
 * (filters, counts, paging) and one write (`#write=<instanceId>`, deep-linkable) with its timeline
 * as bars, its audit trail and the actions, each behind a dialog that asks for a reason (a delete
 * that succeeded offers the erasure of its patient).
 */
export const PAGE_SCRIPT = String.raw`
'use strict';
(() => {
  const $ = (selector) => document.querySelector(selector);
  const apiBase = location.pathname.replace(/\/ui\/?$/, '');
  // Straight to patient-app (/api/support/ui) the page sends the Functions key; through APIM it sends
  // the support product's subscription key, and APIM adds the function key.
  const keyHeader = apiBase.startsWith('/api/') ? 'x-functions-key' : 'Ocp-Apim-Subscription-Key';
  const status = $('#status');
  const say = (text) => { status.textContent = text; };
  const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  };

  const keyInput = $('#key');
  const userInput = $('#user');
  keyInput.value = sessionStorage.getItem('supportKey') || '';
  userInput.value = localStorage.getItem('supportUser') || '';
  keyInput.addEventListener('change', () => sessionStorage.setItem('supportKey', keyInput.value));
  userInput.addEventListener('change', () => localStorage.setItem('supportUser', userInput.value));

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (keyInput.value) headers[keyHeader] = keyInput.value;
    if (userInput.value) headers['x-caller-user'] = userInput.value;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(apiBase + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((data.error && data.error.message) || 'HTTP ' + response.status);
      error.status = response.status;
      error.details = data.error && data.error.details;
      throw error;
    }
    return data;
  }

  const time = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' }) : '');
  const ms = (value) => (value === undefined ? '' : value < 1000 ? value + ' ms' : (value / 1000).toFixed(value < 10000 ? 2 : 1) + ' s');
  const badge = (text, kind) => el('span', { class: 'badge ' + kind, text });

  // ---- list view ----------------------------------------------------------------------------
  const filters = $('#filters');
  let pageTokens = [];

  function listQuery(token) {
    const params = new URLSearchParams();
    for (const name of ['status', 'outcome', 'kind', 'operationId', 'patientId']) {
      const value = filters.elements[name].value.trim();
      if (value) params.set(name, value);
    }
    for (const name of ['from', 'to']) {
      const value = filters.elements[name].value;
      if (value) params.set(name, new Date(value).toISOString());
    }
    params.set('pageSize', '25');
    if (token) params.set('continuationToken', token);
    return params;
  }

  async function showList(token) {
    $('#detail').hidden = true;
    $('#list').hidden = false;
    say('Loading writes…');
    let data;
    try {
      data = await api('GET', '/writes?' + listQuery(token));
    } catch (error) {
      say('Could not list writes: ' + error.message);
      return;
    }
    const counts = $('#counts');
    counts.replaceChildren();
    for (const [name, count] of Object.entries(data.counts.byStatus)) {
      counts.append(el('button', { type: 'button', class: 'count', 'data-status': name, 'aria-pressed': String(filters.elements.status.value === name), text: name + ' ' + count,
        onclick: () => { filters.elements.status.value = filters.elements.status.value === name ? '' : name; pageTokens = []; void showList(); } }));
    }
    for (const [name, count] of Object.entries(data.counts.byOutcome)) {
      if (count > 0) counts.append(el('span', { class: 'outcome-count', text: name + ': ' + count }));
    }
    const rows = $('#rows');
    rows.replaceChildren();
    for (const item of data.items) {
      rows.append(el('tr', { class: item.needsAttention ? 'attention' : '' },
        el('td', {}, el('a', { href: '#write=' + encodeURIComponent(item.instanceId), text: time(item.createdTime) })),
        el('td', { text: item.kind }),
        el('td', {}, badge(item.status, item.status)),
        el('td', {}, badge(item.outcome, item.outcome)),
        el('td', { text: item.reason || item.step || '' }),
        el('td', { class: 'id', text: item.operationId || '' }),
        el('td', { class: 'id', text: item.patientId || '' })));
    }
    if (data.items.length === 0) rows.append(el('tr', {}, el('td', { colspan: '7', text: 'No writes match.' })));
    $('#range').textContent = 'From ' + time(data.range.from) + ' to ' + time(data.range.to) + ' · ' + data.counts.total + ' writes';
    const next = $('#next');
    next.hidden = !data.continuationToken;
    next.onclick = () => { pageTokens.push(token); void showList(data.continuationToken); };
    const previous = $('#previous');
    previous.hidden = pageTokens.length === 0;
    previous.onclick = () => void showList(pageTokens.pop());
    say(data.items.length + ' writes shown.');
  }

  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    pageTokens = [];
    if (location.hash) location.hash = '';
    else void showList();
  });

  // ---- detail view --------------------------------------------------------------------------
  function timelineBars(timeline) {
    const entries = timeline.entries;
    if (entries.length === 0) return el('p', { text: 'The history has no steps yet.' });
    const starts = entries.map((entry) => Date.parse(entry.start));
    const ends = entries.map((entry) => Date.parse(entry.end || entry.start));
    const t0 = Math.min(Date.parse(timeline.start || entries[0].start), ...starts);
    const t1 = Math.max(Date.parse(timeline.end || 0) || 0, ...ends, t0 + 1);
    const list = el('ol', { class: 'timeline', 'aria-label': 'Timeline of the write' });
    for (const entry of entries) {
      const left = ((Date.parse(entry.start) - t0) / (t1 - t0)) * 100;
      const width = Math.max(((Date.parse(entry.end || entry.start) - Date.parse(entry.start)) / (t1 - t0)) * 100, 0.6);
      const kind = entry.kind === 'retryTimer' ? 'retry' : entry.compensation ? 'compensation' : entry.status;
      const what = entry.kind === 'retryTimer' ? entry.name : (entry.label || entry.name) + (entry.attempt ? ' · attempt ' + entry.attempt : '');
      const outcome = entry.failure ? 'failed: ' + entry.failure.reason : entry.status;
      // Positions go through the CSSOM: the page's CSP allows no inline style attributes.
      const bar = el('span', { class: 'bar ' + kind });
      bar.style.left = left.toFixed(2) + '%';
      bar.style.width = Math.min(width, 100 - left).toFixed(2) + '%';
      list.append(el('li', { class: 'step' },
        el('span', { class: 'label', text: 'Step ' + entry.step + ': ' + what }),
        el('span', { class: 'track', 'aria-hidden': 'true' }, bar),
        el('span', { class: 'facts', text: outcome + ' · ' + ms(entry.durationMs) + ' · ' + time(entry.start) })));
    }
    return list;
  }

  function auditTable(detail) {
    if (detail.auditRecords === null) return el('p', { class: 'warning', text: detail.auditError || 'The audit register could not be read.' });
    if (detail.auditRecords.length === 0) return el('p', { text: 'The audit register has no records for this write.' });
    const body = el('tbody');
    for (const record of detail.auditRecords) {
      const details = record.details ? Object.entries(record.details).map(([key, value]) => key + '=' + value).join(', ') : '';
      body.append(el('tr', {},
        el('td', { text: time(record.timestamp) }),
        el('td', { text: record.outcome }),
        el('td', { text: record.resource.operation + ' ' + record.resource.type }),
        el('td', { text: [record.actor.system, record.actor.user].filter(Boolean).join(' / ') }),
        el('td', { text: [record.reason, details].filter(Boolean).join(' · ') })));
    }
    return el('table', { class: 'audit' },
      el('caption', { text: 'Audit register, newest first' }),
      el('thead', {}, el('tr', {}, ...['When', 'Outcome', 'What', 'Who', 'Why / details'].map((text) => el('th', { scope: 'col', text })))),
      body);
  }

  let current = null;

  async function showWrite(instanceId) {
    $('#list').hidden = true;
    const detail = $('#detail');
    detail.hidden = false;
    const body = $('#detail-body');
    body.replaceChildren();
    $('#detail-title').textContent = 'Write ' + instanceId;
    say('Loading write ' + instanceId + '…');
    let data;
    try {
      data = await api('GET', '/writes/' + encodeURIComponent(instanceId));
    } catch (error) {
      body.append(el('p', { class: 'warning', text: 'Could not load the write: ' + error.message }));
      say('Could not load the write.');
      $('#detail-title').focus();
      return;
    }
    current = data;
    const write = data.write;
    const facts = el('dl', { class: 'facts-list' });
    const fact = (name, value) => { if (value) facts.append(el('dt', { text: name }), el('dd', {}, value)); };
    fact('Kind', write.kind);
    fact('Status', badge(write.status, write.status));
    fact('Outcome', badge(write.outcome, write.outcome));
    fact('Why', write.reason);
    fact('Step', write.step);
    fact('Operation id', write.operationId);
    fact('Patient id', write.patientId);
    fact('Created', time(write.createdTime));
    fact('Last updated', time(write.lastUpdatedTime));
    fact('Duration', ms(data.timeline.durationMs));
    fact('Attempts', data.timeline.summary.attempts + ' (' + data.timeline.summary.failedAttempts + ' failed, ' + data.timeline.summary.retries + ' retries)');
    if (data.restartedAs) fact('Restarted as', el('a', { href: '#write=' + encodeURIComponent(data.restartedAs), text: data.restartedAs }));
    if (data.restartedFrom) fact('Restart of', el('a', { href: '#write=' + encodeURIComponent(data.restartedFrom), text: data.restartedFrom }));
    body.append(facts);

    const actions = el('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' });
    const running = write.status === 'running';
    const restartable = !running && (write.outcome === 'failed' || write.outcome === 'compensated') && !data.restartedAs;
    actions.append(
      el('button', { type: 'button', id: 'action-restart', disabled: restartable ? null : '', onclick: () => confirmAction('restart') , text: 'Restart…' }),
      el('button', { type: 'button', id: 'action-terminate', disabled: running ? null : '', onclick: () => confirmAction('terminate'), text: 'Terminate…' }),
      el('button', { type: 'button', id: 'action-purge', disabled: running ? '' : null, onclick: () => confirmAction('purge'), text: 'Purge…' }),
      el('button', { type: 'button', id: 'action-export', onclick: () => confirmAction('export'), text: 'Export for replay…' }));
    if (write.kind === 'deletePatient' && write.outcome === 'succeeded' && write.patientId)
      actions.append(el('button', { type: 'button', id: 'action-erase', onclick: () => confirmAction('erase'), text: 'Erase patient…' }));
    body.append(actions);

    body.append(el('h3', { text: 'Timeline' }), el('p', { class: 'legend', text: 'Bars: green completed, red failed, grey dashed retry delay, orange compensation.' }), timelineBars(data.timeline));
    if (data.timeline.endReason) body.append(el('p', { class: 'warning', text: 'Ended: ' + data.timeline.endReason }));
    body.append(el('h3', { text: 'Audit trail' }), auditTable(data));
    body.append(el('h3', { text: 'Telemetry' }), el('p', { text: 'Application Insights (Logs):' }), el('pre', { class: 'kql', tabindex: '0', text: data.telemetry.kql }));
    body.append(el('details', {}, el('summary', { text: 'Input, output and status (personal data redacted)' }),
      el('pre', { text: JSON.stringify({ input: data.input, output: data.output, customStatus: data.customStatus }, null, 2) })));
    say('Write ' + instanceId + ': ' + write.status + ', ' + write.outcome + '.');
    $('#detail-title').focus();
  }

  const dialog = $('#confirm');
  const reason = $('#reason');
  let pendingAction = null;

  function confirmAction(action) {
    pendingAction = action;
    $('#confirm-title').textContent = action === 'erase'
      ? 'Erase patient ' + current.write.patientId + '?'
      : action[0].toUpperCase() + action.slice(1) + ' write ' + current.write.instanceId + '?';
    $('#confirm-text').textContent = {
      restart: 'Starts the write again as a new write with the same input. The audit register records who, why and both ids.',
      terminate: 'Stops the running write where it is. Nothing it has not done yet will happen.',
      purge: 'Deletes the write\'s orchestration history. The audit register keeps its records.',
      export: 'Downloads the write and its full history as JSON, for npm run replay.',
      erase: 'Only for an accepted erasure request: removes the deleted patient\'s personal data for good (the content of every version, the test results, and every write of the patient, this one included). The audit register records who and why.',
    }[action];
    $('#confirm-error').textContent = '';
    reason.value = '';
    dialog.showModal();
    reason.focus();
  }

  $('#confirm-cancel').addEventListener('click', () => dialog.close());
  $('#confirm-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!userInput.value) { $('#confirm-error').textContent = 'Fill in "Your user id" first: every action names who did it.'; return; }
    const instanceId = current.write.instanceId;
    try {
      const path = pendingAction === 'erase'
        ? '/patients/' + encodeURIComponent(current.write.patientId) + '/erase'
        : '/writes/' + encodeURIComponent(instanceId) + '/' + pendingAction;
      const result = await api('POST', path, { reason: reason.value });
      dialog.close();
      if (pendingAction === 'erase') {
        // This write is purged with the others: the view keeps only what the erasure answered.
        const text = 'Erased patient ' + result.patientId + ': ' + result.versionsScrubbed + ' versions emptied, ' + result.testsRemoved + ' test results and ' + result.instancesPurged + ' writes removed.';
        $('#detail-body').replaceChildren(el('p', { id: 'erased', text }));
        current = null;
        say(text);
      } else if (pendingAction === 'export') {
        const link = el('a', { href: URL.createObjectURL(new Blob([JSON.stringify(result, null, 2)], { type: 'application/json' })), download: instanceId + '.json' });
        document.body.append(link);
        link.click();
        link.remove();
        say('Exported ' + instanceId + '.');
      } else if (pendingAction === 'restart') {
        say('Restarted as ' + result.newInstanceId + '.');
        location.hash = 'write=' + encodeURIComponent(result.newInstanceId);
      } else if (pendingAction === 'purge') {
        say('Purged ' + instanceId + '.');
        location.hash = '';
      } else {
        await showWrite(instanceId);
        say('Terminated ' + instanceId + '.');
      }
    } catch (error) {
      const running = error.details && Array.isArray(error.details.instanceIds) ? ' Still running: ' + error.details.instanceIds.join(', ') : '';
      $('#confirm-error').textContent = error.message + (Array.isArray(error.details) ? ' ' + error.details.map((d) => d.messages.join(' ')).join(' ') : '') + running;
    }
  });

  $('#back').addEventListener('click', () => { location.hash = ''; });
  $('#refresh').addEventListener('click', () => { if (current) void showWrite(current.write.instanceId); });

  function route() {
    const hash = new URLSearchParams(location.hash.slice(1));
    const instanceId = hash.get('write') || new URLSearchParams(location.search).get('instance');
    if (instanceId) void showWrite(instanceId);
    else { current = null; void showList(); }
  }
  window.addEventListener('hashchange', route);
  route();
})();
`;
