import type { LtiLaunch } from '../models';

/** Where each role lands after a launch: admins on settings, instructors on the course, students on the assignment. */
export function landingPath(launch: Pick<LtiLaunch, 'role' | 'messageType'>): string {
  if (launch.messageType === 'LtiDeepLinkingRequest') return '/instructor/deep-link';
  if (launch.role === 'admin') return '/admin';
  if (launch.role === 'instructor') return '/instructor';
  return '/student';
}
