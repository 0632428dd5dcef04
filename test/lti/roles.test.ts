import { mapRoles } from '../../src/lti/roles';

const LIS = 'http://purl.imsglobal.org/vocab/lis/v2/';

describe('role mapping (ARCHITECTURE §3)', () => {
  test.each([
    ['Moodle site admin (Administrator + Instructor)', [`${LIS}institution/person#Administrator`, `${LIS}membership#Instructor`, `${LIS}system/person#Administrator`], 'admin'],
    ['system SysAdmin', [`${LIS}system/person#SysAdmin`], 'admin'],
    ['system Administrator alone', [`${LIS}system/person#Administrator`], 'admin'],
    ['editing teacher', [`${LIS}membership#Instructor`], 'instructor'],
    ['Moodle non-editing teacher sends Instructor', [`${LIS}membership#Instructor`], 'instructor'],
    ['Canvas TA (Instructor + TeachingAssistant)', [`${LIS}membership#Instructor`, `${LIS}membership/Instructor#TeachingAssistant`], 'instructor'],
    ['TeachingAssistant sub-role alone', [`${LIS}membership/Instructor#TeachingAssistant`], 'instructor'],
    ['ContentDeveloper', [`${LIS}membership#ContentDeveloper`], 'instructor'],
    ['short form Instructor', ['Instructor'], 'instructor'],
    ['Learner', [`${LIS}membership#Learner`], 'student'],
    ['short form Learner', ['Learner'], 'student'],
    ['TestUser', ['http://purl.imsglobal.org/vocab/lti/system/person#TestUser'], 'student'],
    ['Learner plus an institution Instructor is still a student', [`${LIS}membership#Learner`, `${LIS}institution/person#Instructor`], 'student'],
  ])('%s → %s', (_label, roles, expected) => {
    expect(mapRoles(roles)).toBe(expected);
  });

  test.each([
    ['an empty list', []],
    ['Mentor', [`${LIS}membership#Mentor`]],
    ['an institution-level Instructor without a course membership role', [`${LIS}institution/person#Instructor`]],
    ['unknown roles', ['http://example.com/roles#Wizard']],
    ['a role that only contains "Instructor" as a substring', [`${LIS}membership#InstructorX`, 'NotInstructor']],
    ['a string instead of a list', `${LIS}membership#Instructor`],
    ['a list of non-strings', [42, { role: 'Instructor' }]],
    ['null', null],
  ])('%s → no access', (_label, roles) => {
    expect(mapRoles(roles)).toBeNull();
  });
});
