import express, { type Router } from 'express';
import { CLAIM, capturedPayload, isObject, loadFixture } from './fixtures';
import { sendUnauthorized, type PlatformContext } from './platformContext';
import { SCOPES, type TokenService } from './token';

const LEARNER = 'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner';
const MEMBERSHIP_PREFIX = 'http://purl.imsglobal.org/vocab/lis/v2/membership#';
const CONTENT_TYPE = 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json; charset=utf-8';

type Member = Record<string, unknown> & { user_id: string; roles: string[] };

/**
 * Who is in the course: the users the platform launched (sub -> claims) plus the captured
 * enrolments, answering "is this user gradable?" for AGS and the NRPS membership list.
 */
export class Roster {
  private readonly launched = new Map<string, Record<string, unknown>>();
  private readonly learnerOverrides = new Map<string, boolean>();
  private context?: Record<string, unknown>;

  constructor(
    private readonly platform: PlatformContext,
    private readonly tokens: TokenService,
  ) {}

  /** Remembers the user and course of a message the platform issued. */
  recordLaunch(payload: Record<string, unknown>): void {
    if (typeof payload.sub === 'string') this.launched.set(payload.sub, payload);
    const context = payload[CLAIM.context];
    if (isObject(context)) this.context = context;
  }

  setLearner(sub: string, learner: boolean): void {
    this.learnerOverrides.set(sub, learner);
  }

  /**
   * Moodle grades only enrolled students: a launched user whose roles include Learner. Instructors,
   * admins, non-editing teachers and unknown users are not gradable.
   */
  isLearner(sub: string): boolean {
    const override = this.learnerOverrides.get(sub);
    if (override !== undefined) return override;
    const roles = this.launched.get(sub)?.[CLAIM.roles];
    return Array.isArray(roles) && roles.some((role) => role === LEARNER || role === 'Learner');
  }

  /** Current members: the captured enrolments, then any launched user not among them. */
  members(): Member[] {
    const members = this.platform.flavour === 'moodle' ? moodleSeed() : canvasSeed();
    for (const [sub, payload] of this.launched) {
      if (members.some((m) => m.user_id === sub)) continue;
      const roles = membershipRoles(payload);
      if (roles.length > 0) members.push(this.memberFrom(payload, roles));
    }
    return members;
  }

  router(): Router {
    const router = express.Router();
    router.get('/nrps/memberships', (req, res) => {
      if (!this.tokens.allows(req.get('authorization'), [SCOPES.nrps])) {
        return sendUnauthorized(res, req.method, req.originalUrl, req.get('accept'));
      }
      const role = typeof req.query.role === 'string' ? shortRole(req.query.role) : undefined;
      const all = this.members().filter((m) => !role || m.roles.some((r) => shortRole(r) === role));
      const from = Number(req.query.from ?? 0);
      const limit = req.query.limit === undefined ? all.length : Number(req.query.limit);
      const page = all.slice(from, from + limit);
      const url = `${this.platform.origin}/nrps/memberships`;
      if (from + limit < all.length) {
        // Moodle pages with an offset and a Link header (nrps-membership-paged-and-filtered.json).
        const next = new URL(url);
        next.searchParams.set('limit', String(limit));
        next.searchParams.set('from', String(from + limit));
        if (typeof req.query.role === 'string') next.searchParams.set('role', req.query.role);
        res.set('link', `<${next.href}>; rel="next"`);
      }
      res.status(200).type(CONTENT_TYPE).send(JSON.stringify({ id: url, context: this.currentContext(), members: page }));
    });
    return router;
  }

  private currentContext(): Record<string, unknown> {
    const context = this.context ?? (this.platform.flavour === 'moodle'
      ? (loadFixture('moodle-4.5/nrps-membership.json').response.body.context as Record<string, unknown>)
      : (capturedPayload('canvas-student')[CLAIM.context] as Record<string, unknown>));
    return { id: context.id, label: context.label, title: context.title };
  }

  private memberFrom(payload: Record<string, unknown>, roles: string[]): Member {
    const sub = String(payload.sub);
    if (this.platform.flavour === 'canvas') return canvasMember(payload, roles);
    const ext = payload[CLAIM.ext];
    return {
      status: 'Active',
      roles: roles.map(shortRole),
      user_id: sub,
      lis_person_sourcedid: '',
      name: payload.name,
      given_name: payload.given_name,
      family_name: payload.family_name,
      email: payload.email,
      ext_user_username: isObject(ext) ? ext.user_username : undefined,
    };
  }
}

/** Moodle's captured membership (note: it lists the non-editing teacher as Learner). */
function moodleSeed(): Member[] {
  return loadFixture('moodle-4.5/nrps-membership.json').response.body.members as Member[];
}

/** Canvas lists enrolled users with full role URIs; the admin of the capture is not enrolled. */
function canvasSeed(): Member[] {
  return (['canvas-teacher', 'canvas-student'] as const).map((name) => {
    const payload = capturedPayload(name);
    return canvasMember(payload, membershipRoles(payload));
  });
}

function canvasMember(payload: Record<string, unknown>, roles: string[]): Member {
  return {
    status: 'Active',
    name: payload.name,
    picture: payload.picture,
    given_name: payload.given_name,
    family_name: payload.family_name,
    email: payload.email,
    user_id: String(payload.sub),
    lti11_legacy_user_id: payload[CLAIM.lti11UserId],
    roles,
  };
}

function membershipRoles(payload: Record<string, unknown>): string[] {
  const roles = payload[CLAIM.roles];
  return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string' && r.startsWith(MEMBERSHIP_PREFIX)) : [];
}

function shortRole(role: string): string {
  return role.includes('#') ? role.slice(role.lastIndexOf('#') + 1) : role;
}
