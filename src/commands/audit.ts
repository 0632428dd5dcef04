import type { Transaction } from 'sequelize';
import { AuditEvent } from '../models';
import type { LaunchSession } from '../lti/session';

// One audit line per change to a connection, instance, catalogue entry or setting. `details` holds
// labels and ids only; callers never pass secrets (the presenters decide what is safe to show).

export type AuditAction =
  | 'provider.create' | 'provider.update' | 'provider.delete' | 'provider.verify' | 'provider.rotate_key'
  | 'instance.create' | 'instance.update' | 'instance.delete'
  | 'model.create' | 'model.update' | 'settings.update'
  | 'privacy.export' | 'privacy.erase'
  | 'budget.update' | 'budget.delete' | 'budget.warning' | 'budget.exhausted';

export async function recordAudit(
  session: Pick<LaunchSession, 'deployment' | 'user'>,
  event: { action: AuditAction; targetType: string; targetId: string; details?: Record<string, unknown> },
  transaction?: Transaction,
): Promise<void> {
  await AuditEvent.create(
    {
      deploymentId: session.deployment.id,
      actorUserId: session.user.id,
      actorLabel: session.user.name ?? null,
      action: event.action,
      targetType: event.targetType,
      targetId: event.targetId,
      details: event.details ?? {},
    },
    { transaction },
  );
}

/** An event FeedForward itself records (a budget crossing a threshold), with no acting user. */
export async function recordSystemAudit(
  deploymentId: string,
  event: { action: AuditAction; targetType: string; targetId: string; details?: Record<string, unknown> },
): Promise<void> {
  await AuditEvent.create({ deploymentId, actorUserId: null, actorLabel: 'FeedForward', action: event.action, targetType: event.targetType, targetId: event.targetId, details: event.details ?? {} });
}
