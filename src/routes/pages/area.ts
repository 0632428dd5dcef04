import express, { RequestHandler } from 'express';
import type { OwnerType } from '../../models/Provider';
import { budgetBanner } from '../../middlewares/budgetBanner';
import { sameSiteOnly } from '../../middlewares/sameSiteOnly';
import { allow } from '../../policies';
import type { Section } from './view';

// The admin and instructor screens share their connection and instance pages; an area says where
// they live, who may open them, which scopes a new object may take and which rows the list shows.

export interface Area {
  /** '/admin' or '/instructor'. */
  base: string;
  /** Middlewares in front of a page: the session, then the role guard. */
  page: RequestHandler[];
  /** Middlewares in front of a form post: same-site check, body parser, session, role guard. */
  post: RequestHandler[];
  /** Scopes a new object may take here; the first is the default. */
  scopes: OwnerType[];
  /** The rows this area lists: admins see the institution's and their own, instructors their own. */
  lists: (ownerType: OwnerType) => boolean;
  sections: { connections: Section; instances: Section };
  titles: { connections: string; instances: string };
}

export function areas(session: RequestHandler): { admin: Area; instructor: Area } {
  // Cross-site posts are refused before any work; the body is parsed before the session so the
  // ltik can come from the form.
  const form = express.urlencoded({ extended: false, limit: '200kb' });
  const administer = allow('administer');
  const configure = allow('configure');
  return {
    admin: {
      base: '/admin',
      page: [session, administer, budgetBanner],
      post: [sameSiteOnly(), form, session, administer],
      scopes: ['system', 'instructor'],
      lists: () => true,
      sections: { connections: 'connections', instances: 'instances' },
      titles: { connections: 'Connections', instances: 'Model instances' },
    },
    instructor: {
      base: '/instructor',
      page: [session, configure, budgetBanner],
      post: [sameSiteOnly(), form, session, configure],
      scopes: ['instructor'],
      lists: (ownerType) => ownerType === 'instructor',
      sections: { connections: 'my-connections', instances: 'my-instances' },
      titles: { connections: 'My connections', instances: 'My instances' },
    },
  };
}

