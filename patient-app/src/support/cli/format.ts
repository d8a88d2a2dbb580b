/** The support CLI's tables: plain text, one line per write or step, widths fitted to the content. */
import type { AuditRecordView } from '../audit-trail';
import type { WriteDetail, WriteList } from '../support-service';

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.min(60, Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length))),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        const text = cell.length > width ? `${cell.slice(0, width - 1)}…` : cell;
        return column === cells.length - 1 ? text : text.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

const ms = (value: number | undefined): string =>
  value === undefined ? '' : value < 1000 ? `${value} ms` : `${(value / 1000).toFixed(2)} s`;
const time = (iso: string | undefined): string =>
  iso === undefined ? '' : iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');

export function formatList(list: WriteList): string {
  const counts = Object.entries(list.counts.byStatus)
    .map(([status, count]) => `${status} ${count}`)
    .join(' · ');
  const outcomes = Object.entries(list.counts.byOutcome)
    .filter(([, count]) => count > 0)
    .map(([outcome, count]) => `${outcome} ${count}`)
    .join(' · ');
  const rows = list.items.map((item) => [
    time(item.createdTime),
    item.kind,
    item.status,
    item.outcome + (item.needsAttention ? ' !' : ''),
    item.instanceId,
    item.patientId ?? '',
    item.reason ?? item.step ?? '',
  ]);
  return [
    `Writes from ${time(list.range.from)} to ${time(list.range.to)}: ${list.counts.total} (${counts})${outcomes ? `; outcomes: ${outcomes}` : ''}`,
    '',
    rows.length === 0
      ? 'No writes match.'
      : table(['created', 'kind', 'status', 'outcome', 'instance id', 'patient id', 'why / step'], rows),
    ...(list.continuationToken === null ? [] : ['', 'More writes match: add --all, or narrow the filters.']),
  ].join('\n');
}

function auditRows(records: AuditRecordView[]): string[][] {
  return records.map((record) => [
    time(record.timestamp),
    record.outcome,
    `${record.resource.operation} ${record.resource.type}`,
    [record.actor.system, record.actor.user].filter((part) => part !== undefined).join(' / '),
    [
      record.reason,
      record.details === undefined
        ? undefined
        : Object.entries(record.details)
            .map(([key, value]) => `${key}=${String(value)}`)
            .join(', '),
    ]
      .filter((part) => part !== undefined && part !== '')
      .join(' · '),
  ]);
}

export function formatDetail(detail: WriteDetail): string {
  const { write, timeline } = detail;
  const facts: [string, string | undefined][] = [
    ['instance', write.instanceId],
    ['kind', write.kind],
    ['status', `${write.status} (${write.runtimeStatus})`],
    ['outcome', write.outcome + (write.needsAttention ? ' — needs attention' : '')],
    ['why', write.reason],
    ['step', write.step],
    ['operation id', write.operationId],
    ['patient id', write.patientId],
    ['created', time(write.createdTime)],
    ['duration', ms(timeline.durationMs)],
    [
      'attempts',
      `${timeline.summary.attempts} (${timeline.summary.failedAttempts} failed, ${timeline.summary.retries} retries, ${timeline.summary.compensationSteps} compensation steps)`,
    ],
    ['restarted as', detail.restartedAs],
    ['restart of', detail.restartedFrom],
  ];
  const steps = timeline.entries.map((entry) => [
    String(entry.step),
    entry.kind === 'retryTimer'
      ? `  ${entry.name}`
      : `${entry.label ?? entry.name}${entry.attempt !== undefined ? ` #${entry.attempt}` : ''}${entry.compensation === true ? ' (compensation)' : ''}`,
    entry.status,
    time(entry.start),
    ms(entry.durationMs),
    entry.failure?.reason ?? '',
  ]);
  return [
    ...facts
      .filter(([, value]) => value !== undefined && value !== '')
      .map(([name, value]) => `${name.padEnd(13)}${value ?? ''}`),
    ...(timeline.endReason === undefined ? [] : [`${'ended'.padEnd(13)}${timeline.endReason}`]),
    '',
    'Timeline',
    steps.length === 0 ? 'No steps yet.' : table(['step', 'what', 'status', 'start', 'took', 'failure'], steps),
    '',
    'Audit register (newest first)',
    detail.auditRecords === null
      ? (detail.auditError ?? 'The audit register could not be read.')
      : detail.auditRecords.length === 0
        ? 'No records.'
        : table(['when', 'outcome', 'what', 'who', 'why / details'], auditRows(detail.auditRecords)),
    '',
    'Telemetry (Application Insights, Logs)',
    detail.telemetry.kql,
  ].join('\n');
}
