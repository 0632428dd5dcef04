import { Op, WhereOptions } from 'sequelize';
import { Assignment, Provider, UsageEntry, User } from '../models';

// Usage summaries for the dashboards and the API: totals, spend over time, and spend by
// connection, instructor, model and assignment. Always scoped to one deployment; an instructor's
// view is also scoped to the assignments they configured (and their own connections' checks).

export interface UsageFilter {
  deploymentId: string;
  /** 'YYYY-MM' or 'all'. */
  period: string;
  providerId?: string;
  instructorUserId?: string;
  assignmentId?: string;
}

export interface UsageGroup {
  key: string;
  label: string;
  costMicros: number;
  calls: number;
  unpricedCalls: number;
  tokensIn: number;
  tokensOut: number;
}

export interface UsageReport {
  period: string;
  totals: Omit<UsageGroup, 'key' | 'label'>;
  /** Days of the month (or months for 'all'), in order, including empty ones. */
  overTime: Array<{ key: string; costMicros: number; calls: number }>;
  byConnection: UsageGroup[];
  byInstructor: UsageGroup[];
  byModel: UsageGroup[];
  byAssignment: UsageGroup[];
}

export const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The current month as 'YYYY-MM' (UTC). */
export const currentPeriod = (now = new Date()) => `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;

export function periodRange(period: string): { from?: Date; to?: Date } {
  const m = PERIOD.exec(period);
  if (!m) return {};
  const year = Number(m[1]);
  const month = Number(m[2]) - 1;
  return { from: new Date(Date.UTC(year, month, 1)), to: new Date(Date.UTC(year, month + 1, 1)) };
}

export function usageWhere(filter: UsageFilter): WhereOptions {
  const { from, to } = periodRange(filter.period);
  return {
    deploymentId: filter.deploymentId,
    ...(from && to ? { createdAt: { [Op.gte]: from, [Op.lt]: to } } : {}),
    ...(filter.providerId ? { providerId: filter.providerId } : {}),
    ...(filter.instructorUserId ? { instructorUserId: filter.instructorUserId } : {}),
    ...(filter.assignmentId ? { assignmentId: filter.assignmentId } : {}),
  };
}

type Row = Pick<UsageEntry, 'providerId' | 'ownerType' | 'ownerUserId' | 'instructorUserId' | 'assignmentId' | 'model' | 'tokensIn' | 'tokensOut' | 'costMicros' | 'unpriced' | 'createdAt'>;

function group(rows: Row[], keyOf: (r: Row) => string | null, labelOf: (key: string) => string): UsageGroup[] {
  const groups = new Map<string, UsageGroup>();
  for (const r of rows) {
    const key = keyOf(r) ?? 'none';
    const g = groups.get(key) ?? { key, label: labelOf(key), costMicros: 0, calls: 0, unpricedCalls: 0, tokensIn: 0, tokensOut: 0 };
    g.costMicros += Number(r.costMicros ?? 0);
    g.calls += 1;
    if (r.unpriced) g.unpricedCalls += 1;
    g.tokensIn += r.tokensIn;
    g.tokensOut += r.tokensOut;
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.costMicros - a.costMicros || b.calls - a.calls);
}

/** How a viewer may name a connection: an instructor's own connection is private, even to admins. */
export function connectionLabel(provider: Pick<Provider, 'label' | 'ownerType' | 'ownerUserId'> | undefined, viewerUserId: string): string {
  if (!provider) return 'A removed connection';
  if (provider.ownerType === 'instructor' && provider.ownerUserId !== viewerUserId) return 'An instructor\u2019s own connection';
  return provider.label;
}

/** The report for this filter, with names this viewer may see. */
export async function usageReport(filter: UsageFilter, viewerUserId: string): Promise<UsageReport> {
  const rows = (await UsageEntry.findAll({
    where: usageWhere(filter),
    attributes: ['providerId', 'ownerType', 'ownerUserId', 'instructorUserId', 'assignmentId', 'model', 'tokensIn', 'tokensOut', 'costMicros', 'unpriced', 'createdAt'],
    order: [['createdAt', 'ASC']],
  })) as Row[];
  const ids = (pick: (r: Row) => string | null | undefined) => [...new Set(rows.map(pick).filter((x): x is string => !!x))];
  const [providers, users, assignments] = await Promise.all([
    Provider.findAll({ where: { id: ids((r) => r.providerId), deploymentId: filter.deploymentId }, attributes: ['id', 'label', 'ownerType', 'ownerUserId'] }),
    User.findAll({ where: { id: ids((r) => r.instructorUserId) }, attributes: ['id', 'name'] }),
    Assignment.findAll({ where: { id: ids((r) => r.assignmentId), deploymentId: filter.deploymentId }, attributes: ['id', 'title'] }),
  ]);
  const providerById = new Map(providers.map((p) => [p.id, p]));
  const userById = new Map(users.map((u) => [u.id, u]));
  const assignmentById = new Map(assignments.map((a) => [a.id, a]));

  const byMonth = !PERIOD.test(filter.period);
  const timeKey = (d: Date) => d.toISOString().slice(0, byMonth ? 7 : 10);
  const overTime = new Map<string, { key: string; costMicros: number; calls: number }>();
  const { from, to } = periodRange(filter.period);
  if (from && to) for (let d = new Date(from); d < to; d = new Date(d.getTime() + 86400000)) overTime.set(timeKey(d), { key: timeKey(d), costMicros: 0, calls: 0 });
  for (const r of rows) {
    const key = timeKey(new Date(r.createdAt));
    const point = overTime.get(key) ?? { key, costMicros: 0, calls: 0 };
    point.costMicros += Number(r.costMicros ?? 0);
    point.calls += 1;
    overTime.set(key, point);
  }
  const all = group(rows, () => 'all', () => 'all')[0];
  return {
    period: filter.period,
    totals: { costMicros: all?.costMicros ?? 0, calls: all?.calls ?? 0, unpricedCalls: all?.unpricedCalls ?? 0, tokensIn: all?.tokensIn ?? 0, tokensOut: all?.tokensOut ?? 0 },
    overTime: [...overTime.values()].sort((a, b) => a.key.localeCompare(b.key)),
    // Another instructor's own connections are pooled under one anonymous row (no id, no label).
    byConnection: group(
      rows,
      (r) => (r.ownerType === 'instructor' && r.ownerUserId !== viewerUserId ? 'private' : r.providerId),
      (k) => (k === 'private' ? 'Instructors\u2019 own connections' : connectionLabel(providerById.get(k), viewerUserId)),
    ),
    byInstructor: group(rows, (r) => r.instructorUserId, (k) => (k === 'none' ? 'Institution (no instructor)' : userById.get(k)?.name ?? 'An instructor')),
    byModel: group(rows, (r) => r.model, (k) => (k === 'none' ? 'Connection checks' : k)),
    byAssignment: group(rows, (r) => r.assignmentId, (k) => (k === 'none' ? 'Not an assignment (connection checks)' : assignmentById.get(k)?.title ?? 'A removed assignment')),
  };
}
