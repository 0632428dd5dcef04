import type { User } from '../models';
import type { Notice } from '../privacy/notice';

// Privacy answers: the notice a student accepts, and the users an admin may export or erase.

export function presentNotice(notice: Notice, acceptedAt: Date | null) {
  return { text: notice.text, version: notice.version, accepted: acceptedAt !== null, acceptedAt };
}

export function presentMember(u: User) {
  return { id: u.id, sub: u.sub, name: u.name, email: u.email, erased: u.sub.startsWith('erased-') };
}
