import { createHash } from 'node:crypto';
import { settingsOf, type RetentionPolicy } from '../commands/settings';
import { driverOf } from '../db/driver';
import { conflict, HttpError } from '../errors';
import type { LaunchSession } from '../lti/session';
import { NoticeAcceptance, type Deployment } from '../models';

// The data-use notice a student accepts before their first submission. Its version is the sha256
// of the exact text shown, so rewording it (or changing the retention it states) asks again.

/** `{retention}` is replaced by the deployment's retention in words. */
export const DEFAULT_NOTICE = [
  'FeedForward uses AI models to give you feedback on your drafts.',
  'Your text is sent to the AI providers chosen by your institution or instructor, without your name, email or LMS id. Your instructor reviews the feedback before you see it.',
  'Your text is kept {retention} and then deleted; the feedback and scores are kept.',
  "To see or erase what FeedForward holds about you, ask your institution's LMS administrator.",
].join('\n\n');

export function retentionWords(policy: RetentionPolicy): string {
  return policy.mode === 'until_release' ? 'until your feedback is released' : `for ${policy.days} days after your feedback is released`;
}

export interface Notice {
  text: string;
  version: string;
}

/** The notice this deployment's students see now, and its version. */
export function currentNotice(deployment: Pick<Deployment, 'settings'>): Notice {
  const settings = settingsOf(deployment);
  const text = (settings.dataNotice ?? DEFAULT_NOTICE).replaceAll('{retention}', retentionWords(settings.retention));
  return { text, version: createHash('sha256').update(text).digest('hex') };
}

/** When this user accepted the current notice of this deployment, or null. */
export async function noticeAcceptedAt(session: Pick<LaunchSession, 'deployment' | 'user'>): Promise<Date | null> {
  const { version } = currentNotice(session.deployment);
  // On the driver: every submission asks (see src/db/driver.ts).
  const [row] = await driverOf(NoticeAcceptance.sequelize!).all<{ accepted_at: Date | string }>(
    'SELECT "accepted_at" FROM "notice_acceptances" WHERE "deployment_id" = $1 AND "user_id" = $2 AND "notice_version" = $3 LIMIT 1',
    [session.deployment.id, session.user.id, version],
  );
  return row ? new Date(row.accepted_at) : null;
}

/** Records acceptance of the notice version the student saw; a version that is no longer current is refused. */
export async function acceptNotice(session: Pick<LaunchSession, 'deployment' | 'user'>, version: string): Promise<Date> {
  const notice = currentNotice(session.deployment);
  if (version !== notice.version) throw conflict('The data-use notice has changed since you read it. Read it again and accept the new version.', { version: notice.version });
  const [row] = await NoticeAcceptance.findOrCreate({
    where: { deploymentId: session.deployment.id, userId: session.user.id, noticeVersion: version },
    defaults: { deploymentId: session.deployment.id, userId: session.user.id, noticeVersion: version, acceptedAt: new Date() },
  });
  return row.acceptedAt;
}

/** Throws 409 notice_not_accepted until the student accepted the current notice. */
export async function requireNoticeAccepted(session: Pick<LaunchSession, 'deployment' | 'user'>): Promise<void> {
  if (await noticeAcceptedAt(session)) return;
  throw new HttpError(409, 'notice_not_accepted', 'Read and accept the data-use notice before your first submission (GET /api/v1/notice, then POST /api/v1/notice/accept with its version).', undefined, { version: currentNotice(session.deployment).version });
}

