import type { LaunchClaims } from '../models/LtiLaunch';
import { idTokenFor } from './idToken';
import type { Ltijs } from './ltijs';

// Names and Role Provisioning, used for one thing: how many learners a course has (the cost
// estimate). Optional in LTI: no claim, an error or a slow platform give null, and the instructor
// types the number instead.

const NRPS_TIMEOUT_MS = 10000;
const LEARNER = /(^|#)Learner$/;

/** The number of active learners of the launch's course, or null when the platform does not say. */
export async function countLearners(lti: Ltijs, claims: LaunchClaims): Promise<number | null> {
  if (!claims.nrps?.context_memberships_url) return null;
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      lti.NamesAndRoles.getMembers(idTokenFor(claims), { role: 'Learner', pages: 20 }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), NRPS_TIMEOUT_MS);
      }),
    ]);
    const members = result.members.filter((m) => {
      const roles = Array.isArray(m.roles) ? (m.roles as unknown[]) : [];
      return (m.status === undefined || m.status === 'Active') && roles.some((r) => typeof r === 'string' && LEARNER.test(r));
    });
    return members.length;
  } catch {
    return null;
  } finally {
    if (timer) clearTimeout(timer);
  }
}
