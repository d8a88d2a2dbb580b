import { Resvg } from '@resvg/resvg-js';

/** What the chart shows of one concurrency level. */
export interface ChartLevel {
  concurrency: number;
  orchestrated: { writesPerSecond: number; p50: number; p95: number };
  direct: { writesPerSecond: number; p50: number; p95: number };
}

interface Series {
  name: string;
  color: string;
  dashed: boolean;
  values: number[];
}

const ORCHESTRATED = '#d9480f';
const DIRECT = '#1971c2';
const WIDTH = 1000;
const HEIGHT = 470;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function formatValue(value: number): string {
  return value < 10 ? value.toFixed(1) : Math.round(value).toString();
}

/** Powers of ten around the values: both paths differ by one to three orders of magnitude. */
function logRange(values: readonly number[]): { low: number; high: number } {
  const positive = values.filter((value) => value > 0);
  const low = 10 ** Math.floor(Math.log10(Math.min(...positive, 1)));
  let high = 10 ** Math.ceil(Math.log10(Math.max(...positive, 1)));
  if (high <= low) high = low * 10;
  return { low, high };
}

/** One panel: categories along x, a log-scaled y axis, a line with labelled points per series. */
function panel(
  x: number,
  y: number,
  width: number,
  height: number,
  title: string,
  unit: string,
  categories: string[],
  series: Series[],
): string {
  const left = x + 64;
  const right = x + width - 16;
  const top = y + 40;
  const bottom = y + height - 84;
  const { low, high } = logRange(series.flatMap((s) => s.values));
  const yOf = (value: number): number =>
    bottom -
    ((Math.log10(Math.max(value, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))) * (bottom - top);
  const xOf = (index: number): number => left + ((index + 0.5) / categories.length) * (right - left);
  const parts: string[] = [
    `<text x="${x + width / 2}" y="${y + 20}" font-size="16" font-weight="bold" text-anchor="middle">${escapeXml(title)}</text>`,
    `<text transform="translate(${x + 16},${(top + bottom) / 2}) rotate(-90)" font-size="12" text-anchor="middle">${escapeXml(unit)} (log scale)</text>`,
  ];
  for (let tick = low; tick <= high; tick *= 10) {
    const ty = yOf(tick);
    parts.push(`<line x1="${left}" y1="${ty}" x2="${right}" y2="${ty}" stroke="#dee2e6"/>`);
    parts.push(`<text x="${left - 6}" y="${ty + 4}" font-size="11" text-anchor="end">${tick}</text>`);
  }
  parts.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#495057"/>`);
  categories.forEach((category, index) => {
    parts.push(
      `<text x="${xOf(index)}" y="${bottom + 18}" font-size="12" text-anchor="middle">${escapeXml(category)}</text>`,
    );
  });
  parts.push(
    `<text x="${(left + right) / 2}" y="${bottom + 36}" font-size="12" text-anchor="middle">writes in flight</text>`,
  );
  for (const s of series) {
    const points = s.values.map((value, index) => `${xOf(index)},${yOf(value)}`).join(' ');
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    s.values.forEach((value, index) => {
      parts.push(`<circle cx="${xOf(index)}" cy="${yOf(value)}" r="3.5" fill="${s.color}"/>`);
      // p95 labels above their point, the others below, so close lines keep readable labels.
      const labelY = s.dashed ? yOf(value) - 7 : yOf(value) + 16;
      parts.push(
        `<text x="${xOf(index) + 6}" y="${labelY}" font-size="11" fill="${s.color}">${formatValue(value)}</text>`,
      );
    });
  }
  series.forEach((s, index) => {
    const lx = left + (index % 2) * 200;
    const ly = bottom + 56 + Math.floor(index / 2) * 18;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 28}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${dash}/>`,
    );
    parts.push(`<text x="${lx + 34}" y="${ly}" font-size="12">${escapeXml(s.name)}</text>`);
  });
  return parts.join('\n');
}

/** The benchmark chart as SVG: writes/s, and p50/p95 latency, per path and concurrency. */
export function benchChartSvg(levels: readonly ChartLevel[], subtitle: string): string {
  const categories = levels.map((level) => String(level.concurrency));
  const pick = (path: 'orchestrated' | 'direct', key: 'writesPerSecond' | 'p50' | 'p95'): number[] =>
    levels.map((level) => level[path][key]);
  const throughput = panel(0, 40, WIDTH / 2, HEIGHT - 40, 'Throughput', 'writes/s', categories, [
    { name: 'orchestrated', color: ORCHESTRATED, dashed: false, values: pick('orchestrated', 'writesPerSecond') },
    { name: 'direct (audit, then insert)', color: DIRECT, dashed: false, values: pick('direct', 'writesPerSecond') },
  ]);
  const latency = panel(WIDTH / 2, 40, WIDTH / 2, HEIGHT - 40, 'Latency', 'ms', categories, [
    { name: 'orchestrated p50', color: ORCHESTRATED, dashed: false, values: pick('orchestrated', 'p50') },
    { name: 'orchestrated p95', color: ORCHESTRATED, dashed: true, values: pick('orchestrated', 'p95') },
    { name: 'direct p50', color: DIRECT, dashed: false, values: pick('direct', 'p50') },
    { name: 'direct p95', color: DIRECT, dashed: true, values: pick('direct', 'p95') },
  ]);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="DejaVu Sans">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="22" font-size="18" font-weight="bold" text-anchor="middle">POST /api/patient: orchestrated vs direct write</text>`,
    `<text x="${WIDTH / 2}" y="42" font-size="12" fill="#495057" text-anchor="middle">${escapeXml(subtitle)}</text>`,
    throughput,
    latency,
    '</svg>',
  ].join('\n');
}

/**
 * SVG to PNG with resvg and the DejaVu Sans font from the `dejavu-fonts-ttf` package, not the
 * system's fonts: the chart looks the same on every machine, including those without fonts.
 */
export function renderPng(svg: string): Buffer {
  const font = {
    fontFiles: [
      require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'),
      require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'),
    ],
    loadSystemFonts: false,
    defaultFontFamily: 'DejaVu Sans',
  };
  return new Resvg(svg, { font }).render().asPng();
}
