// Tool roles from the LTI `roles` claim (ARCHITECTURE §3). Exact URIs or the LTI short forms only,
// never substring matching, so "…#InstructorX" or a Mentor is not an instructor.

export type ToolRole = 'admin' | 'instructor' | 'student';

const LIS = 'http://purl.imsglobal.org/vocab/lis/v2/';
const ADMIN = new Set([`${LIS}institution/person#Administrator`, `${LIS}system/person#Administrator`, `${LIS}system/person#SysAdmin`]);
const INSTRUCTOR = new Set([
  `${LIS}membership#Instructor`,
  `${LIS}membership/Instructor#TeachingAssistant`,
  `${LIS}membership#ContentDeveloper`,
  'Instructor',
  'ContentDeveloper',
]);
const STUDENT = new Set([`${LIS}membership#Learner`, 'http://purl.imsglobal.org/vocab/lti/system/person#TestUser', 'Learner']);

/** Maps a roles claim to one tool role, or null for "no access" (empty, unknown, Mentor, wrong type). */
export function mapRoles(roles: unknown): ToolRole | null {
  if (!Array.isArray(roles)) return null;
  const list = roles.filter((r): r is string => typeof r === 'string');
  if (list.some((r) => ADMIN.has(r))) return 'admin';
  if (list.some((r) => INSTRUCTOR.has(r))) return 'instructor';
  if (list.some((r) => STUDENT.has(r))) return 'student';
  return null;
}

export const ROLE_LABELS: Record<ToolRole, string> = { admin: 'Administrator', instructor: 'Instructor', student: 'Student' };
