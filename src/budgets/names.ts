import { Assignment, Provider, User } from '../models';
import type { Budget } from '../models/Budget';
import { connectionLabel } from '../usage/report';

/** A budget's name for this viewer: the institution, a connection's label (private ones stay private), a person, an assignment. */
export async function budgetNames(budgets: Budget[], viewerUserId: string): Promise<Map<string, string>> {
  const ids = (scope: string) => budgets.filter((b) => b.scope === scope).map((b) => b.scopeId);
  const [providers, users, assignments] = await Promise.all([
    Provider.findAll({ where: { id: ids('connection') }, attributes: ['id', 'label', 'ownerType', 'ownerUserId'] }),
    User.findAll({ where: { id: ids('instructor') }, attributes: ['id', 'name'] }),
    Assignment.findAll({ where: { id: ids('assignment') }, attributes: ['id', 'title'] }),
  ]);
  const names = new Map<string, string>();
  for (const b of budgets) {
    if (b.scope === 'deployment') names.set(b.id, 'The whole institution');
    else if (b.scope === 'connection') names.set(b.id, connectionLabel(providers.find((p) => p.id === b.scopeId), viewerUserId));
    else if (b.scope === 'instructor') names.set(b.id, users.find((u) => u.id === b.scopeId)?.name ?? 'An instructor');
    else names.set(b.id, assignments.find((a) => a.id === b.scopeId)?.title ?? 'A removed assignment');
  }
  return names;
}
