import { Op, Sequelize } from 'sequelize';
import { Assignment, AuditEvent, Budget, Deployment, LtiLaunch, ModelInstance, NoticeAcceptance, Provider, Run, Submission, UsageEntry, User } from '../models';
import { ltijsRowsOf } from './ltijsTables';
import { providerUserId } from './pseudonym';

// Everything the tool holds about one user in one deployment, as JSON (a subject access request).
// Rows are listed field by field where a model holds something that is not the user's (a sealed
// key is never exported: connections appear by label only).

const plain = <T extends { get(opts: { plain: true }): unknown }>(rows: T[]) => rows.map((r) => r.get({ plain: true }) as Record<string, unknown>);

/** This user's submissions in this deployment, oldest first (runs and audit rows about them hang off their ids). */
async function submissionsOf(deployment: Deployment, user: User): Promise<Submission[]> {
  return Submission.findAll({ where: { deploymentId: deployment.id, userId: user.id }, order: [['createdAt', 'ASC']] });
}

/** Audit rows this user made, or about this user or their submissions, in this deployment. */
export async function auditRowsAbout(deployment: Deployment, user: User, submissionIds: string[]): Promise<AuditEvent[]> {
  return AuditEvent.findAll({
    where: {
      deploymentId: deployment.id,
      [Op.or]: [{ actorUserId: user.id }, { targetId: [user.id, ...submissionIds] }],
    },
    order: [['createdAt', 'ASC']],
  });
}

/** Ledger rows of this user's submissions, or of calls they configured or paid for with their own connection. */
export function usageRowsAbout(deployment: Deployment, user: User, submissionIds: string[]): Promise<UsageEntry[]> {
  return UsageEntry.findAll({
    where: { deploymentId: deployment.id, [Op.or]: [{ instructorUserId: user.id }, { ownerUserId: user.id }, ...(submissionIds.length ? [{ submissionId: submissionIds }] : [])] },
    order: [['createdAt', 'ASC']],
  });
}

/** Budgets that name this user: their instructor budget, or ones they set. */
export function budgetsAbout(deployment: Deployment, user: User): Promise<Budget[]> {
  return Budget.findAll({ where: { deploymentId: deployment.id, [Op.or]: [{ scope: 'instructor', scopeId: user.id }, { createdByUserId: user.id }, { updatedByUserId: user.id }] } });
}

export async function exportUserData(sequelize: Sequelize, deployment: Deployment, user: User) {
  const submissions = await submissionsOf(deployment, user);
  const submissionIds = submissions.map((s) => s.id);
  const [launches, runs, assignments, providers, instances, audit, acceptances, ltijs, usage, budgets] = await Promise.all([
    LtiLaunch.findAll({ where: { deploymentId: deployment.id, userId: user.id }, order: [['createdAt', 'ASC']] }),
    submissionIds.length ? Run.findAll({ where: { submissionId: submissionIds }, order: [['createdAt', 'ASC']] }) : Promise.resolve([]),
    Assignment.findAll({ where: { deploymentId: deployment.id, createdByUserId: user.id }, order: [['createdAt', 'ASC']] }),
    Provider.findAll({ where: { deploymentId: deployment.id, ownerUserId: user.id }, attributes: ['id', 'kind', 'label', 'createdAt'] }),
    ModelInstance.findAll({ where: { deploymentId: deployment.id, ownerUserId: user.id } }),
    auditRowsAbout(deployment, user, submissionIds),
    NoticeAcceptance.findAll({ where: { deploymentId: deployment.id, userId: user.id }, order: [['acceptedAt', 'ASC']] }),
    ltijsRowsOf(sequelize, deployment, user),
    usageRowsAbout(deployment, user, submissionIds),
    budgetsAbout(deployment, user),
  ]);
  return {
    exportedAt: new Date().toISOString(),
    deployment: { id: deployment.id, issuer: deployment.issuer, clientId: deployment.clientId, deploymentId: deployment.deploymentId, name: deployment.name },
    user: { id: user.id, issuer: user.issuer, clientId: user.clientId, sub: user.sub, name: user.name, email: user.email, picture: user.picture, locale: user.locale, createdAt: user.createdAt, updatedAt: user.updatedAt },
    providerPseudonym: await providerUserId(deployment.id, user.id),
    noticeAcceptances: plain(acceptances),
    launches: plain(launches),
    submissions: plain(submissions),
    runs: runs.map((r) => ({
      id: r.id, submissionId: r.submissionId, instance: r.instanceSnapshot.name, model: r.instanceSnapshot.model, runIndex: r.runIndex, status: r.status, errorCode: r.errorCode,
      output: r.output, tokensIn: r.tokensIn, tokensOut: r.tokensOut, costMicros: r.costMicros, latencyMs: r.latencyMs, startedAt: r.startedAt, finishedAt: r.finishedAt, createdAt: r.createdAt,
    })),
    assignmentsCreated: plain(assignments),
    providerConnectionsOwned: plain(providers),
    modelInstancesOwned: plain(instances),
    auditEvents: plain(audit),
    usageEntries: plain(usage),
    budgets: plain(budgets),
    ltijs,
  };
}

export type UserExport = Awaited<ReturnType<typeof exportUserData>>;
