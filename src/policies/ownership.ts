import { Op, WhereOptions } from 'sequelize';
import { notFound } from '../errors';
import type { LaunchSession } from '../lti/session';
import type { OwnerType } from '../models/Provider';

// Who sees and who manages an owned object (provider connection, model instance):
// system objects are visible to every instructor of the deployment and managed by its admins;
// instructor objects are visible to and managed by their owner only. Anything else is "not found".

export interface Owned {
  deploymentId: string;
  ownerType: OwnerType;
  ownerUserId: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Rejects ids that are not ours in shape, so a malformed id is a 404, not a database error. */
export function requireId(id: unknown): string {
  if (typeof id !== 'string' || !UUID.test(id)) throw notFound();
  return id.toLowerCase();
}

/** The where-clause of everything this session may see. */
export function visibleTo(session: LaunchSession): WhereOptions {
  return {
    deploymentId: session.deployment.id,
    [Op.or]: [{ ownerType: 'system' }, { ownerType: 'instructor', ownerUserId: session.user.id }],
  };
}

export function isVisible(session: LaunchSession, obj: Owned): boolean {
  if (obj.deploymentId !== session.deployment.id) return false;
  return obj.ownerType === 'system' || obj.ownerUserId === session.user.id;
}

/** System objects: the deployment's admins; instructor objects: their owner. */
export function canManage(session: LaunchSession, obj: Owned): boolean {
  if (!isVisible(session, obj)) return false;
  return obj.ownerType === 'system' ? session.role === 'admin' : obj.ownerUserId === session.user.id;
}

/** The owner columns for a new object in the requested scope. */
export function ownerFor(session: LaunchSession, scope: OwnerType): { ownerType: OwnerType; ownerUserId: string | null } {
  return scope === 'system' ? { ownerType: 'system', ownerUserId: null } : { ownerType: 'instructor', ownerUserId: session.user.id };
}
