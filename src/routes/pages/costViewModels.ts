import type { BudgetStanding } from '../../budgets/standing';
import { spentPercent } from '../../budgets/alerts';
import type { Estimate } from '../../usage/estimate';
import type { UsageReport } from '../../usage/report';
import { dollars } from './feedbackViewModels';

// What the cost screens show: the estimate panel, budget bars, the usage tables and the SVG chart.
// Status is always said in words (and a percentage), never by colour alone.

export function estimateView(e: Estimate) {
  return {
    known: e.lowMicros !== null && e.highMicros !== null,
    low: e.lowMicros === null ? null : dollars(e.lowMicros),
    high: e.highMicros === null ? null : dollars(e.highMicros),
    students: e.students,
    fromRoster: e.studentsSource === 'nrps',
    maxDrafts: e.drafts.high,
    priceUnknown: e.priceUnknown,
    instances: e.instances.map((i) => ({
      name: i.name ?? 'A removed model instance',
      model: i.model ?? '',
      runs: i.runs,
      priceUnknown: i.priceUnknown,
      low: i.perDraftMicros ? dollars(i.perDraftMicros.low) : null,
      high: i.perDraftMicros ? dollars(i.perDraftMicros.high) : null,
    })),
  };
}

const SCOPE_WORDS: Record<string, string> = { deployment: 'Whole institution', connection: 'Connection', instructor: 'Instructor', assignment: 'Assignment' };

export function budgetView(s: BudgetStanding, name: string) {
  const limit = s.budget.limitMicros;
  const pct = (n: number) => (limit > 0 ? Math.min(100, Math.round((n * 100) / limit)) : 100);
  const percent = spentPercent(s);
  const state = percent >= 100 || s.remainingMicros === 0 ? 'exhausted' : percent >= 80 ? 'warning' : 'ok';
  return {
    id: s.budget.id,
    scope: s.budget.scope,
    scopeWords: SCOPE_WORDS[s.budget.scope] ?? s.budget.scope,
    name,
    period: s.budget.period === 'month' ? 'Each month' : 'In total',
    limit: dollars(limit),
    spent: dollars(s.spentMicros),
    reserved: dollars(s.reservedMicros),
    remaining: dollars(s.remainingMicros),
    spentPercent: percent,
    spentWidth: pct(s.spentMicros),
    reservedWidth: Math.max(0, Math.min(100 - pct(s.spentMicros), pct(s.reservedMicros))),
    unpricedCalls: s.unpricedCalls,
    forbidUnpriced: s.budget.forbidUnpriced,
    state,
    stateWords: state === 'exhausted' ? 'Exhausted: new runs wait' : state === 'warning' ? 'Warning: 80% or more spent' : 'Within budget',
  };
}

/** A bar chart of spend over time as inline SVG (server-rendered: no script, no CDN), with a text alternative. */
export function spendChart(report: UsageReport) {
  const points = report.overTime;
  const width = 640;
  const height = 180;
  const pad = { left: 56, bottom: 24, top: 10 };
  const max = Math.max(1, ...points.map((p) => p.costMicros));
  const slot = points.length ? (width - pad.left) / points.length : 0;
  const barWidth = Math.max(2, slot * 0.7);
  const inner = height - pad.bottom - pad.top;
  const bars = points.map((p, i) => {
    const h = Math.round((p.costMicros / max) * inner);
    return { x: Math.round(pad.left + i * slot + (slot - barWidth) / 2), y: height - pad.bottom - h, width: Math.round(barWidth), height: h, label: `${p.key}: ${dollars(p.costMicros)}, ${p.calls} calls` };
  });
  const labelEvery = Math.max(1, Math.ceil(points.length / 8));
  const ticks = points
    .map((p, i) => ({ x: Math.round(pad.left + i * slot + slot / 2), text: p.key.length > 7 ? p.key.slice(8) : p.key, show: i % labelEvery === 0 }))
    .filter((t) => t.show);
  return { width, height, bars, ticks, axisY: height - pad.bottom, maxLabel: dollars(max), left: pad.left, top: pad.top, points: points.map((p) => ({ key: p.key, cost: dollars(p.costMicros), calls: p.calls })) };
}

export function usageGroupsView(groups: UsageReport['byConnection']) {
  return groups.map((g) => ({ label: g.label, cost: dollars(g.costMicros), calls: g.calls, unpricedCalls: g.unpricedCalls, tokensIn: g.tokensIn, tokensOut: g.tokensOut }));
}
