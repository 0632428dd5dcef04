import { countLearners } from '../lti/nrps';
import type { Ltijs } from '../lti/ltijs';
import type { LaunchSession } from '../lti/session';
import type { Assignment } from '../models';
import { estimateAssignment, type Estimate } from './estimate';

/** The estimate with the class size from NRPS when the launch offers it, else the number the instructor typed. */
export async function estimateForLaunch(lti: Ltijs, session: LaunchSession, assignment: Assignment): Promise<Estimate> {
  const fromRoster = await countLearners(lti, session.launch.claims);
  const students = fromRoster !== null
    ? { count: fromRoster, source: 'nrps' as const }
    : { count: assignment.expectedStudents ?? null, source: 'instructor' as const };
  return estimateAssignment(assignment, students);
}
