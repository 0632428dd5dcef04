import { notFound } from '../errors';
import type { LaunchSession } from '../lti/session';
import { Assignment, Provider } from '../models';
import { currentPeriod, type UsageFilter } from '../usage/report';
import { isVisible } from './ownership';

// Whose usage a session may read: admins the whole deployment; instructors only the usage of the
// assignments they configured (and their own connections' checks). A filter naming another
// instructor, or an object this session cannot see, is "not found".

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function usageFilterFor(
  session: LaunchSession,
  query: { period?: string; connection?: string; instructor?: string; assignment?: string },
): Promise<UsageFilter> {
  const deploymentId = session.deployment.id;
  const admin = session.role === 'admin';
  const filter: UsageFilter = { deploymentId, period: query.period ?? currentPeriod() };
  if (query.instructor) {
    if (!UUID.test(query.instructor)) throw notFound('No such instructor.');
    if (!admin && query.instructor.toLowerCase() !== session.user.id) throw notFound('No such instructor.');
    filter.instructorUserId = query.instructor.toLowerCase();
  }
  if (!admin) filter.instructorUserId = session.user.id;
  if (query.connection) {
    const provider = UUID.test(query.connection) ? await Provider.findOne({ where: { id: query.connection.toLowerCase(), deploymentId } }) : null;
    if (!provider || !isVisible(session, provider)) throw notFound('No such provider connection.');
    filter.providerId = provider.id;
  }
  if (query.assignment) {
    const assignment = UUID.test(query.assignment) ? await Assignment.findOne({ where: { id: query.assignment.toLowerCase(), deploymentId } }) : null;
    if (!assignment || (!admin && assignment.createdByUserId !== session.user.id)) throw notFound('No such assignment.');
    filter.assignmentId = assignment.id;
  }
  return filter;
}
