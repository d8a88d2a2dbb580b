import { benchChartSvg, type ChartLevel, renderPng } from '../src/chart';

const levels: ChartLevel[] = [
  {
    concurrency: 1,
    orchestrated: { writesPerSecond: 7.2, p50: 114, p95: 202 },
    direct: { writesPerSecond: 112.4, p50: 7.5, p95: 18.6 },
  },
  {
    concurrency: 8,
    orchestrated: { writesPerSecond: 7.5, p50: 941, p95: 1544 },
    direct: { writesPerSecond: 280.2, p50: 25.5, p95: 47.8 },
  },
  {
    concurrency: 32,
    orchestrated: { writesPerSecond: 3.4, p50: 7448, p95: 11518 },
    direct: { writesPerSecond: 122.6, p50: 136, p95: 392 },
  },
];

/** Width and height from the PNG signature and its first chunk, IHDR. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.toString('ascii', 12, 16)).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('the benchmark chart', () => {
  it('plots writes/s and p50/p95 per path at every concurrency, with their values', () => {
    const svg = benchChartSvg(levels, 'a <machine> & its store');
    for (const text of [
      'Throughput',
      'Latency',
      'orchestrated p95',
      'direct p50',
      '>1<',
      '>8<',
      '>32<',
      '>7.2<',
      '>280<',
      '>11518<',
      '>7.5<',
    ]) {
      expect(svg).toContain(text);
    }
    expect(svg).toContain('a &#60;machine&#62; &#38; its store');
    // A log axis from 1 to 100 000 ms covers 7.5 ms to 11.5 s.
    expect(svg).toContain('>100000<');
    expect(svg.match(/<polyline /g)).toHaveLength(6);
  });

  it('renders to a PNG of the SVG size, with its text drawn from the packaged font', () => {
    expect(pngSize(renderPng(benchChartSvg(levels, 'test')))).toEqual({ width: 1000, height: 470 });
    const blank = renderPng(
      '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><rect width="200" height="40" fill="#fff"/></svg>',
    );
    const text = renderPng(
      '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><rect width="200" height="40" fill="#fff"/><text x="4" y="28" font-size="20">writes/s</text></svg>',
    );
    // Without a font resvg silently draws no text, and the image would compress like the blank one.
    expect(text.length).toBeGreaterThan(blank.length + 200);
  });
});
