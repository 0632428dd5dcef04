// Percentiles and the printed table. Medians and p95 only: a single sample is never reported.

/** The q-quantile (0..1) of the samples, by nearest rank on a sorted copy. */
export function quantile(samples: number[], q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (samples: number[]) => quantile(samples, 0.5);
export const p95 = (samples: number[]) => quantile(samples, 0.95);

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export interface Row {
  benchmark: string;
  metric: string;
  value: string;
  target?: string;
  ok?: boolean;
}

/** A plain-text table (also valid Markdown). */
export function table(rows: Row[]): string {
  const head = ['benchmark', 'metric', 'value', 'target'];
  const body = rows.map((r) => [r.benchmark, r.metric, r.value, r.target ? `${r.target} ${r.ok === undefined ? '' : r.ok ? '✓' : '✗'}`.trim() : '']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
