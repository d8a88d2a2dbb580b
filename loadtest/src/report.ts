import type { BenchResults, LevelResult, StoreName } from './bench';

const STORES: [StoreName, string][] = [
  ['patientStore', 'patient store'],
  ['auditStore', 'audit store'],
  ['taskHub', 'task hub'],
];

function table(header: string[], rows: (string | number)[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

/** `insert 1, find 2.5` from per-write counts by command. */
function commands(byCommand: Record<string, number>): string {
  const entries = Object.entries(byCommand);
  return entries.length === 0 ? '—' : entries.map(([name, perWrite]) => `${name} ${perWrite}`).join(', ');
}

function paths(level: LevelResult): [string, LevelResult['orchestrated'] | LevelResult['direct']][] {
  return [
    ['orchestrated', level.orchestrated],
    ['direct (audit, then insert)', level.direct],
  ];
}

/** The Markdown tables docs/performance.md shows: results, store commands per write, orchestration latency. */
export function markdownReport(results: BenchResults): string {
  const speed = table(
    ['in flight', 'path', 'writes/s', 'p50 ms', 'p95 ms', 'p99 ms', 'direct ÷ orchestrated (writes/s)'],
    results.levels.flatMap((level) =>
      paths(level).map(([name, r]) => [
        level.concurrency,
        name,
        r.writesPerSecond,
        r.p50,
        r.p95,
        r.p99,
        name === 'orchestrated' ? '' : `${level.throughputRatio}×`,
      ]),
    ),
  );
  const operations = table(
    ['in flight', 'path', 'store', 'commands per write', 'by command (per write)'],
    results.levels.flatMap((level) =>
      paths(level).flatMap(([name, r]) =>
        STORES.map(([store, label]) => [
          level.concurrency,
          name,
          label,
          r.operations[store].perWrite,
          commands(r.operations[store].byCommand),
        ]),
      ),
    ),
  );
  const phaseNames = [
    ...new Set(results.levels.flatMap((level) => Object.keys(level.orchestrated.orchestration.phases))),
  ];
  const latency = table(
    [
      'in flight',
      'HTTP p50 / p95 ms',
      'orchestration p50 / p95 ms',
      ...phaseNames.map((name) => `${name} p50 / p95`),
      'instances',
    ],
    results.levels.map((level) => {
      const o = level.orchestrated.orchestration;
      const phase = (name: string): string => {
        const p = o.phases[name];
        return p === undefined ? '—' : `${p.p50} / ${p.p95}`;
      };
      return [
        level.concurrency,
        `${level.orchestrated.p50} / ${level.orchestrated.p95}`,
        `${o.p50} / ${o.p95}`,
        ...phaseNames.map(phase),
        o.instances,
      ];
    }),
  );
  return `${speed}\n\n${operations}\n\n${latency}\n`;
}
