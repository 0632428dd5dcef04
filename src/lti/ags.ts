import type { LaunchClaims } from '../models/LtiLaunch';
import { idTokenFor } from './idToken';
import type { Ltijs } from './ltijs';

// Grade passback through AGS. Failures never throw raw HTTP errors at callers: they become an
// AgsError with a reason an instructor can act on (Moodle answers 400 for a non-student).

export type AgsFailure = 'not_available' | 'rejected' | 'unauthorized' | 'unavailable';

export class AgsError extends Error {
  constructor(
    readonly reason: AgsFailure,
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = 'AgsError';
  }
}

export interface ScoreInput {
  userSub: string;
  scoreGiven: number;
  scoreMaximum: number;
  comment?: string;
}

const AGS_TIMEOUT_MS = 15000;

/** Posts a completed, fully graded score to the launch's line item. */
export async function postScore(lti: Ltijs, claims: LaunchClaims, score: ScoreInput): Promise<void> {
  const lineItem = claims.ags?.lineitem;
  if (!lineItem) throw new AgsError('not_available', 'This LMS link has no gradebook column for the tool.');
  const body = {
    userId: score.userSub,
    scoreGiven: score.scoreGiven,
    scoreMaximum: score.scoreMaximum,
    comment: score.comment,
    activityProgress: 'Completed',
    gradingProgress: 'FullyGraded',
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      lti.Grade.submitScore(idTokenFor(claims), lineItem, body),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), AGS_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    const status = (err as { response?: { statusCode?: number } }).response?.statusCode;
    if (status === 400) throw new AgsError('rejected', 'The LMS refused the grade (HTTP 400). Moodle does this for users who are not students in the course.', 400);
    if (status === 401 || status === 403) throw new AgsError('unauthorized', `The LMS refused the tool's access to the gradebook (HTTP ${status}).`, status);
    if (status) throw new AgsError('unavailable', `The LMS gradebook answered HTTP ${status}. Try again later.`, status);
    throw new AgsError('unavailable', 'The LMS gradebook could not be reached. Try again later.');
  } finally {
    if (timer) clearTimeout(timer);
  }
}
