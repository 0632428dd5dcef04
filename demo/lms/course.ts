// The demo LMS's one course and its three people. Roles are the LTI 1.3 URIs Moodle sends.

const LIS = 'http://purl.imsglobal.org/vocab/lis/v2/';

export type PersonKey = 'admin' | 'instructor' | 'student';

export interface Person {
  key: PersonKey;
  sub: string;
  name: string;
  givenName: string;
  familyName: string;
  email: string;
  /** What the course page calls them. */
  roleLabel: string;
  roles: string[];
}

export const PEOPLE: Record<PersonKey, Person> = {
  admin: {
    key: 'admin',
    sub: 'demo-admin',
    name: 'Ada Admin',
    givenName: 'Ada',
    familyName: 'Admin',
    email: 'ada.admin@demo.invalid',
    roleLabel: 'LMS administrator',
    roles: [`${LIS}institution/person#Administrator`, `${LIS}system/person#Administrator`, `${LIS}membership#Instructor`],
  },
  instructor: {
    key: 'instructor',
    sub: 'demo-instructor',
    name: 'Ivan Instructor',
    givenName: 'Ivan',
    familyName: 'Instructor',
    email: 'ivan.instructor@demo.invalid',
    roleLabel: 'Instructor',
    roles: [`${LIS}membership#Instructor`, `${LIS}institution/person#Staff`],
  },
  student: {
    key: 'student',
    sub: 'demo-student',
    name: 'Sam Student',
    givenName: 'Sam',
    familyName: 'Student',
    email: 'sam.student@demo.invalid',
    roleLabel: 'Student',
    roles: [`${LIS}membership#Learner`, `${LIS}institution/person#Student`],
  },
};

export function personByKey(key: unknown): Person | undefined {
  return typeof key === 'string' && Object.hasOwn(PEOPLE, key) ? PEOPLE[key as PersonKey] : undefined;
}

export const COURSE = {
  id: 'demo-course-101',
  label: 'WRIT-101',
  title: 'Writing 101 (demo course)',
  type: ['http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering'],
};

/** A link to the tool in the course: the course-wide one, or an assignment made by deep linking. */
export interface CourseLink {
  id: string;
  title: string;
  /** Assignment links have a gradebook column. */
  graded: boolean;
  custom?: Record<string, string>;
}

/** The link every role can open to reach the tool's course and configuration pages. */
export const COURSE_TOOL_LINK: CourseLink = { id: 'demo-course-tool', title: 'FeedForward', graded: false };
