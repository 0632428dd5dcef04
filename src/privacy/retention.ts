import { Op, QueryTypes, Sequelize } from 'sequelize';
import { settingsOf, type RetentionPolicy } from '../commands/settings';
import type { Logger } from '../logger';
import { Deployment, Submission } from '../models';
import { FINAL_RUN_STATUSES } from '../models/Run';

// Retention: per deployment, released submissions lose their text once the policy says so; the
// feedback, scores, runs and usage stay. Unreleased drafts and drafts with a run still waiting
// (any run status that is not final) are never touched. The UPDATE carries every condition, so
// several workers running it at once remove each text exactly once and never anything else.

const DAY_MS = 24 * 60 * 60 * 1000;
/** Run statuses after which a run never changes again; anything else is still waiting. */
export const RETENTION_EVERY_MS = 60 * 60 * 1000;

/** The release time at or before which a text has expired under this policy. */
export function retentionCutoff(policy: RetentionPolicy, now: Date): Date {
  return policy.mode === 'until_release' ? now : new Date(now.getTime() - policy.days * DAY_MS);
}

/** Removes every expired submission text (all deployments); returns how many texts it removed, per deployment id. */
export async function removeExpiredTexts(sequelize: Sequelize, now = new Date()): Promise<{ removed: number; byDeployment: Record<string, number> }> {
  const candidates = await sequelize.query<{ deployment_id: string }>(
    "SELECT DISTINCT deployment_id FROM submissions WHERE text IS NOT NULL AND status = 'released' AND released_at IS NOT NULL",
    { type: QueryTypes.SELECT },
  );
  const deployments = candidates.length
    ? await Deployment.findAll({ where: { id: candidates.map((c) => c.deployment_id) }, attributes: ['id', 'settings'] })
    : [];
  const byDeployment: Record<string, number> = {};
  let removed = 0;
  const finals = FINAL_RUN_STATUSES.map((s) => sequelize.escape(s)).join(', ');
  for (const deployment of deployments) {
    const cutoff = retentionCutoff(settingsOf(deployment).retention, now);
    const [count] = await Submission.update(
      { text: null, textRemovedAt: now },
      {
        where: {
          deploymentId: deployment.id,
          text: { [Op.ne]: null },
          status: 'released',
          releasedAt: { [Op.ne]: null, [Op.lte]: cutoff },
          [Op.and]: [sequelize.literal(`NOT EXISTS (SELECT 1 FROM runs WHERE runs.submission_id = "submissions"."id" AND runs.status NOT IN (${finals}))`)],
        },
      },
    );
    if (count) byDeployment[deployment.id] = count;
    removed += count;
  }
  return { removed, byDeployment };
}

export interface RetentionSchedule {
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/** Runs removeExpiredTexts now and then every `everyMs` (hourly by default) until stopped; failures are logged, never thrown. */
export function scheduleRetention(opts: { sequelize: Sequelize; logger: Logger; retentionEveryMs?: number }): RetentionSchedule {
  const everyMs = opts.retentionEveryMs ?? RETENTION_EVERY_MS;
  if (everyMs <= 0) return { stop: async () => undefined };
  let current: Promise<void> | undefined;
  const sweep = () => {
    current ??= removeExpiredTexts(opts.sequelize)
      .then(({ removed }) => {
        if (removed) opts.logger.info({ removed }, 'retention removed expired submission texts');
      })
      .catch((err: unknown) => opts.logger.error({ err }, 'retention sweep failed'))
      .finally(() => {
        current = undefined;
      });
  };
  sweep();
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await current;
    },
  };
}
