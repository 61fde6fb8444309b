/**
 * Inline SVG charts for the local HTML report: a line chart and a histogram with labelled axes and ticks, and a
 * horizontal bar chart whose label column is as wide as its longest label. Static markup only (no script, no network),
 * so the report is one file that opens anywhere.
 */

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
}

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly points: readonly ChartPoint[];
  /** Draw markers at the points (for few points, e.g. reliability bins). @default false */
  readonly markers?: boolean;
  readonly dashed?: boolean;
}

export interface ChartAxis {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  /** Tick values. @default - 5 evenly spaced ticks between min and max */
  readonly ticks?: readonly number[];
  /** Tick text. @default - up to 2 decimals */
  readonly format?: (v: number) => string;
}

const FONT = 'font-family="system-ui,sans-serif"';
/** Approximate width of one character at 12 px, for sizing label columns without a layout engine. */
const CHAR_PX = 7;

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const defaultFormat = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/0$/, ''));

/** Evenly spaced ticks from min to max inclusive. */
export function ticksOf(min: number, max: number, count = 5): number[] {
  const step = (max - min) / (count - 1);
  return Array.from({ length: count }, (_, i) => Math.round((min + i * step) * 1e6) / 1e6);
}

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

function scale(axis: ChartAxis, from: number, to: number): (v: number) => number {
  const span = axis.max - axis.min || 1;
  return (v) => from + ((v - axis.min) / span) * (to - from);
}

/** Frame, grid, ticks and axis labels of a chart. */
function axes(f: Frame, x: ChartAxis, y: ChartAxis): string {
  const sx = scale(x, f.left, f.width - f.right);
  const sy = scale(y, f.height - f.bottom, f.top);
  const fx = x.format ?? defaultFormat;
  const fy = y.format ?? defaultFormat;
  const parts: string[] = [];
  for (const t of x.ticks ?? ticksOf(x.min, x.max)) {
    const px = sx(t).toFixed(1);
    parts.push(
      `<line x1="${px}" y1="${f.top}" x2="${px}" y2="${f.height - f.bottom}" stroke="#eee"/>`,
      `<text x="${px}" y="${f.height - f.bottom + 14}" text-anchor="middle" font-size="11">${esc(fx(t))}</text>`,
    );
  }
  for (const t of y.ticks ?? ticksOf(y.min, y.max)) {
    const py = sy(t).toFixed(1);
    parts.push(
      `<line x1="${f.left}" y1="${py}" x2="${f.width - f.right}" y2="${py}" stroke="#eee"/>`,
      `<text x="${f.left - 5}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end" font-size="11">${esc(fy(t))}</text>`,
    );
  }
  const cx = (f.left + f.width - f.right) / 2;
  const cy = (f.top + f.height - f.bottom) / 2;
  parts.push(
    `<rect x="${f.left}" y="${f.top}" width="${f.width - f.left - f.right}" height="${f.height - f.top - f.bottom}" fill="none" stroke="#999"/>`,
    `<text x="${cx}" y="${f.height - 6}" text-anchor="middle" font-size="12">${esc(x.label)}</text>`,
    `<text x="14" y="${cy}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${cy})">${esc(y.label)}</text>`,
  );
  return parts.join('');
}

function legend(series: readonly ChartSeries[], x: number, y: number): string {
  return series
    .map(
      (s, i) =>
        `<line x1="${x}" y1="${y + i * 16}" x2="${x + 18}" y2="${y + i * 16}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/><text x="${x + 23}" y="${y + i * 16 + 4}" font-size="11">${esc(s.label)}</text>`,
    )
    .join('');
}

export interface LineChartOptions {
  readonly title: string;
  readonly x: ChartAxis;
  readonly y: ChartAxis;
  readonly series: readonly ChartSeries[];
  /** A dashed reference line from (min, min) to (max, max): chance for ROC, perfect calibration. @default false */
  readonly diagonal?: boolean;
  /** Any other dashed reference line, e.g. lift 1 across the deciles. @default - none */
  readonly reference?: readonly [ChartPoint, ChartPoint];
  /** Where the legend goes. @default 'bottom-right' */
  readonly legendAt?: 'bottom-right' | 'top-right';
  readonly width?: number;
  readonly height?: number;
}

export function lineChart(o: LineChartOptions): string {
  const f: Frame = { width: o.width ?? 360, height: o.height ?? 320, left: 52, right: 14, top: 26, bottom: 42 };
  const sx = scale(o.x, f.left, f.width - f.right);
  const sy = scale(o.y, f.height - f.bottom, f.top);
  const body: string[] = [axes(f, o.x, o.y)];
  if (o.diagonal) {
    body.push(
      `<line x1="${sx(o.x.min)}" y1="${sy(o.y.min)}" x2="${sx(o.x.max)}" y2="${sy(o.y.max)}" stroke="#bbb" stroke-dasharray="4 4"/>`,
    );
  }
  if (o.reference) {
    const [a, b] = o.reference;
    body.push(
      `<line x1="${sx(a.x)}" y1="${sy(a.y)}" x2="${sx(b.x)}" y2="${sy(b.y)}" stroke="#bbb" stroke-dasharray="4 4"/>`,
    );
  }
  for (const s of o.series) {
    const pts = s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    body.push(
      `<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
    if (s.markers) {
      for (const p of s.points) {
        body.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
      }
    }
  }
  const legendY = o.legendAt === 'top-right' ? f.top + 14 : f.height - f.bottom - 10 - (o.series.length - 1) * 16;
  body.push(legend(o.series, f.width - f.right - 150, legendY));
  return svg(f, o.title, body.join(''));
}

export interface HistogramOptions {
  readonly title: string;
  /** Counts of equal-width bins from x.min to x.max. */
  readonly counts: readonly number[];
  readonly x: ChartAxis;
  readonly yLabel: string;
  readonly color?: string;
  readonly width?: number;
  readonly height?: number;
}

export function histogramChart(o: HistogramOptions): string {
  const f: Frame = { width: o.width ?? 360, height: o.height ?? 240, left: 58, right: 14, top: 26, bottom: 42 };
  const max = Math.max(1, ...o.counts);
  const y: ChartAxis = { label: o.yLabel, min: 0, max, ticks: ticksOf(0, max, 3).map(Math.round) };
  const sy = scale(y, f.height - f.bottom, f.top);
  const bw = (f.width - f.left - f.right) / Math.max(1, o.counts.length);
  const span = o.x.max - o.x.min;
  const bars = o.counts
    .map((c, i) => {
      const lo = o.x.min + (i / o.counts.length) * span;
      const hi = o.x.min + ((i + 1) / o.counts.length) * span;
      const top = sy(c);
      return `<rect x="${(f.left + i * bw).toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(0, bw - 1).toFixed(1)}" height="${(f.height - f.bottom - top).toFixed(1)}" fill="${o.color ?? '#ff7f0e'}"><title>${lo.toFixed(2)}–${hi.toFixed(2)}: ${c}</title></rect>`;
    })
    .join('');
  return svg(f, o.title, axes(f, o.x, y) + bars);
}

export interface BarRow {
  readonly label: string;
  readonly value: number;
  /** Text after the bar. @default - the value */
  readonly text?: string;
}

/** Horizontal bars; the label column fits the longest label, so no label is clipped. */
export function barChart(title: string, rows: readonly BarRow[], color = '#2ca02c'): string {
  const longest = Math.max(4, ...rows.map((r) => r.label.length));
  const left = longest * CHAR_PX + 12;
  const barSpace = 320;
  const textSpace = 90;
  const row = 22;
  const f: Frame = {
    width: Math.max(left + barSpace + textSpace, title.length * CHAR_PX + 24),
    height: rows.length * row + 34,
    left,
    right: 0,
    top: 26,
    bottom: 0,
  };
  const max = Math.max(Number.MIN_VALUE, ...rows.map((r) => r.value));
  const bars = rows
    .map((r, i) => {
      const w = (r.value / max) * barSpace;
      const y = f.top + i * row;
      return `<text x="${left - 6}" y="${y + 14}" text-anchor="end" font-size="12">${esc(r.label)}</text><rect x="${left}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 6}" fill="${color}"/><text x="${(left + w + 4).toFixed(1)}" y="${y + 14}" font-size="11">${esc(r.text ?? String(r.value))}</text>`;
    })
    .join('');
  return svg(f, title, bars);
}

function svg(f: Frame, title: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" role="img" aria-label="${esc(title)}" ${FONT}><text x="8" y="16" font-size="13" font-weight="600">${esc(title)}</text>${body}</svg>`;
}
