import { stringify } from 'csv-stringify/sync';
import { Assignment, Provider, UsageEntry, User } from '../models';
import { connectionLabel, usageWhere, type UsageFilter } from './report';

// The admin's CSV export of the ledger: one line per provider call, with labels and numbers only.
// Never a key, a base URL or any connection configuration. Cells that a spreadsheet would read as
// a formula are escaped (csv-stringify's escape_formulas).

const COLUMNS = ['time', 'type', 'connection', 'connection_owner', 'instructor', 'assignment', 'model', 'tokens_in', 'tokens_out', 'cost_usd', 'unpriced', 'outcome', 'latency_ms'];

const usd = (micros: number | null) => (micros === null ? '' : `${micros < 0 ? '-' : ''}${Math.floor(Math.abs(micros) / 1e6)}.${String(Math.abs(micros) % 1e6).padStart(6, '0')}`);

export async function usageCsv(filter: UsageFilter, viewerUserId: string): Promise<string> {
  const rows = await UsageEntry.findAll({ where: usageWhere(filter), order: [['createdAt', 'ASC']], limit: 200000 });
  const ids = (pick: (r: UsageEntry) => string | null | undefined) => [...new Set(rows.map(pick).filter((x): x is string => !!x))];
  const [providers, users, assignments] = await Promise.all([
    Provider.findAll({ where: { id: ids((r) => r.providerId) }, attributes: ['id', 'label', 'ownerType', 'ownerUserId'] }),
    User.findAll({ where: { id: ids((r) => r.instructorUserId) }, attributes: ['id', 'name'] }),
    Assignment.findAll({ where: { id: ids((r) => r.assignmentId) }, attributes: ['id', 'title'] }),
  ]);
  const records = rows.map((r) => [
    new Date(r.createdAt).toISOString(),
    r.entryType,
    connectionLabel(providers.find((p) => p.id === r.providerId), viewerUserId),
    r.ownerType ?? '',
    users.find((u) => u.id === r.instructorUserId)?.name ?? '',
    assignments.find((a) => a.id === r.assignmentId)?.title ?? '',
    r.model ?? '',
    r.tokensIn,
    r.tokensOut,
    usd(r.costMicros),
    r.unpriced ? 'yes' : 'no',
    r.outcome,
    r.latencyMs ?? '',
  ]);
  return stringify([COLUMNS, ...records], { escape_formulas: true });
}
