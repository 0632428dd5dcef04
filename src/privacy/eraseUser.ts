import { Op, Sequelize, Transaction } from 'sequelize';
import { recordAudit } from '../commands/audit';
import { conflict } from '../errors';
import type { LaunchSession } from '../lti/session';
import { Assignment, AuditEvent, Budget, Deployment, LtiLaunch, ModelInstance, NoticeAcceptance, Provider, Run, Submission, UsageEntry, User } from '../models';
import { deleteLtijsRows } from './ltijsTables';
import { erasedPseudonym } from './pseudonym';
import { FINAL_RUN_STATUSES } from '../models/Run';

// Erasure of one user in one deployment. What identifies them goes: launches (ours and ltijs's),
// submission text and feedback, run outputs, notice acceptances. What the institution needs stays,
// pseudonymised: submission and run rows with their tokens and cost (usage), and audit rows. Every
// row of this deployment that named the user now names a placeholder user `erased-<hash>`, stable
// per (deployment, user). The original user row is deleted once nothing else (another deployment
// of the same LMS client) still refers to it. One transaction: it is all or nothing.

export interface ErasureResult {
  pseudonym: string;
  submissions: number;
  runs: number;
  launches: number;
  ltijsRows: number;
  auditRows: number;
  /** The user row itself was deleted (false: another deployment still has data about them). */
  userRowDeleted: boolean;
}

async function stillReferenced(userId: string, transaction: Transaction): Promise<boolean> {
  // One after the other: a transaction is one connection, which runs one query at a time.
  const counts = [
    () => LtiLaunch.count({ where: { userId }, transaction }),
    () => Submission.count({ where: { [Op.or]: [{ userId }, { releasedByUserId: userId }] }, transaction }),
    () => Assignment.count({ where: { createdByUserId: userId }, transaction }),
    () => Provider.count({ where: { ownerUserId: userId }, transaction }),
    () => ModelInstance.count({ where: { ownerUserId: userId }, transaction }),
    () => NoticeAcceptance.count({ where: { userId }, transaction }),
    () => AuditEvent.count({ where: { actorUserId: userId }, transaction }),
    () => UsageEntry.count({ where: { [Op.or]: [{ instructorUserId: userId }, { ownerUserId: userId }] }, transaction }),
    () => Budget.count({ where: { [Op.or]: [{ scopeId: userId }, { createdByUserId: userId }, { updatedByUserId: userId }] }, transaction }),
  ];
  for (const count of counts) if ((await count()) > 0) return true;
  return false;
}

/** Erases what this deployment holds about the user (see above); audited without any of the data. */
export async function eraseUserData(sequelize: Sequelize, session: LaunchSession, user: User): Promise<ErasureResult> {
  const deployment: Deployment = session.deployment;
  if (user.id === session.user.id) throw conflict('You cannot erase your own data while you are signed in with it. Ask another administrator.');
  const [providers, instances] = await Promise.all([
    Provider.count({ where: { deploymentId: deployment.id, ownerUserId: user.id } }),
    ModelInstance.count({ where: { deploymentId: deployment.id, ownerUserId: user.id } }),
  ]);
  // Their keys are sealed to them as owner: an admin decides what happens to those first.
  if (providers || instances) throw conflict(`This user owns ${providers} provider connection(s) and ${instances} model instance(s). Delete them (or ask the user to) before erasing.`, { providers, instances });
  const pseudonym = await erasedPseudonym(deployment.id, user.id);

  const result = await sequelize.transaction(async (transaction) => {
    const [placeholder] = await User.findOrCreate({
      where: { issuer: user.issuer, clientId: user.clientId, sub: pseudonym },
      defaults: { issuer: user.issuer, clientId: user.clientId, sub: pseudonym, name: null, email: null },
      transaction,
    });
    const now = new Date();
    const inDeployment = { deploymentId: deployment.id };
    const submissionIds = (await Submission.findAll({ where: { ...inDeployment, userId: user.id }, attributes: ['id'], transaction })).map((s) => s.id);

    let runs = 0;
    if (submissionIds.length) {
      // A run still waiting would only fail later on the missing text: end it now, keep its usage.
      await Run.update(
        { status: 'failed', errorCode: 'erased', leaseToken: null, leaseExpiresAt: null, nextAttemptAt: null, finishedAt: now },
        { where: { submissionId: submissionIds, status: { [Op.notIn]: [...FINAL_RUN_STATUSES] } }, transaction },
      );
      [runs] = await Run.update({ output: null }, { where: { submissionId: submissionIds }, transaction });
    }
    const [submissions] = await Submission.update(
      { userId: placeholder.id, text: null, textSha256: '', textRemovedAt: now, feedback: null, aggregate: null, overallScore: null, agsError: null },
      { where: { ...inDeployment, userId: user.id }, transaction },
    );
    await Submission.update({ releasedByUserId: placeholder.id }, { where: { ...inDeployment, releasedByUserId: user.id }, transaction });
    await Assignment.update({ createdByUserId: placeholder.id }, { where: { ...inDeployment, createdByUserId: user.id }, transaction });
    const [actorRows] = await AuditEvent.update({ actorUserId: placeholder.id, actorLabel: pseudonym }, { where: { ...inDeployment, actorUserId: user.id }, transaction });
    const [targetRows] = await AuditEvent.update({ targetId: placeholder.id }, { where: { ...inDeployment, targetId: user.id }, transaction });
    // The ledger is append-only for amounts; erasure is the one change it takes: the user ids on its
    // rows (and on budgets) point at the pseudonym, so aggregate usage stays and names no one.
    await UsageEntry.update({ instructorUserId: placeholder.id }, { where: { ...inDeployment, instructorUserId: user.id }, transaction });
    await UsageEntry.update({ ownerUserId: placeholder.id }, { where: { ...inDeployment, ownerUserId: user.id }, transaction });
    await Budget.update({ scopeId: placeholder.id }, { where: { ...inDeployment, scope: 'instructor', scopeId: user.id }, transaction });
    await Budget.update({ createdByUserId: placeholder.id }, { where: { ...inDeployment, createdByUserId: user.id }, transaction });
    await Budget.update({ updatedByUserId: placeholder.id }, { where: { ...inDeployment, updatedByUserId: user.id }, transaction });
    const launches = await LtiLaunch.destroy({ where: { ...inDeployment, userId: user.id }, transaction });
    await NoticeAcceptance.destroy({ where: { ...inDeployment, userId: user.id }, transaction });
    const ltijsRows = await deleteLtijsRows(sequelize, deployment, user, transaction);

    const userRowDeleted = !(await stillReferenced(user.id, transaction));
    if (userRowDeleted) await User.destroy({ where: { id: user.id }, transaction });

    await recordAudit(session, {
      action: 'privacy.erase',
      targetType: 'user',
      targetId: placeholder.id,
      // Counts only: the audit log never holds the erased data.
      details: { pseudonym, submissions, runs, launches, ltijsRows, userRowDeleted },
    }, transaction);
    return { pseudonym, submissions, runs, launches, ltijsRows, auditRows: actorRows + targetRows, userRowDeleted };
  });
  return result;
}
