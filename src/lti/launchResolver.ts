import { randomUUID } from 'node:crypto';
import { InferCreationAttributes, QueryTypes, UniqueConstraintError } from 'sequelize';
import { modelFromRow } from '../db/modelRows';
import { Deployment, LtiLaunch, User } from '../models';
import type { LaunchClaims } from '../models/LtiLaunch';
import { CLAIM, objectClaim, str } from './claims';
import { launchError } from './launchErrors';
import { consumeLogin, type ValidatedLaunch } from './launchValidator';
import type { LoginStates } from './loginStates';
import { mapRoles, type ToolRole } from './roles';

// Turns a verified id_token into our tenant, user and role, and records the launch the ltik will
// point to. Tenant comes only from here: (iss, client_id, deployment_id) of the validated token.

export const LTIK_MAX_AGE_DEFAULT_SECONDS = 2 * 3600;

async function resolveDeployment(launch: ValidatedLaunch): Promise<Deployment> {
  const key = { issuer: launch.platform.issuer, clientId: launch.clientId, deploymentId: launch.deploymentId };
  // Read along with the login state by the validator (same request, not cached).
  const existing = launch.deployment;
  if (existing) {
    if (!existing.active) throw launchError('deployment_inactive', 'This tool has been switched off for your LMS. Ask your LMS administrator.');
    return existing;
  }
  if (!launch.platform.acceptNewDeployments) {
    throw launchError(
      'unregistered_deployment',
      'This tool is not enabled for this part of your LMS yet. An LMS administrator can allow it with the command shown below.',
      { issuer: key.issuer, clientId: key.clientId, deploymentId: key.deploymentId },
    );
  }
  const [deployment] = await Deployment.findOrCreate({
    where: key,
    defaults: { ...key, platformId: launch.platform.id, registeredVia: 'launch', name: launch.platform.name },
  });
  // The row read before the signature check was missing; one created meanwhile may be switched off.
  if (!deployment.active) throw launchError('deployment_inactive', 'This tool has been switched off for your LMS. Ask your LMS administrator.');
  return deployment;
}

/** The profile the LMS sent (name, email, picture, locale), each only when present. */
function profileOf(p: Record<string, unknown>): Partial<Pick<User, 'name' | 'email' | 'picture' | 'locale'>> {
  const profile: Partial<Pick<User, 'name' | 'email' | 'picture' | 'locale'>> = {};
  const text = (v: unknown, max: number) => (typeof v === 'string' && v.length > 0 ? v.slice(0, max) : undefined);
  const name = text(p.name, 255) ?? ([text(p.given_name, 120), text(p.family_name, 120)].filter(Boolean).join(' ') || undefined);
  if (name) profile.name = name;
  const email = text(p.email, 320);
  if (email) profile.email = email;
  const picture = text(p.picture, 1024);
  if (picture) profile.picture = picture;
  const locale = text(p.locale, 35) ?? text(objectClaim(p, CLAIM.launchPresentation)?.locale, 35);
  if (locale) profile.locale = locale;
  return profile;
}

/**
 * Creates or refreshes the user: name, email, picture and locale only change when the LMS sends them,
 * and the row is only written when it is new or one of them differs. No transaction: on SQLite a write
 * transaction held across event-loop turns while a class launched at once starved the other writers
 * into SQLITE_BUSY (launch benchmark). `:id`, `:issuer`, `:clientId`, `:sub`, the profile and `:now`
 * are its replacements.
 */
const CHANGED = ['name', 'email', 'picture', 'locale'].map((c) => `(excluded.${c} IS NOT NULL AND (users.${c} IS NULL OR users.${c} <> excluded.${c}))`).join(' OR ');
const upsertUserFrom = (source: string) => `INSERT INTO users (id, issuer, client_id, sub, name, email, picture, locale, created_at, updated_at)
     ${source}
     ON CONFLICT (issuer, client_id, sub) DO UPDATE SET
       name = COALESCE(excluded.name, users.name), email = COALESCE(excluded.email, users.email),
       picture = COALESCE(excluded.picture, users.picture), locale = COALESCE(excluded.locale, users.locale),
       updated_at = excluded.updated_at
     WHERE ${CHANGED}
     RETURNING *`;
const UPSERT_USER = upsertUserFrom('VALUES (:id, :issuer, :clientId, :sub, :name, :email, :picture, :locale, :now, :now)');
/** PostgreSQL: the user row whether written or not (the unchanged row is read in the same statement). */
const USER_ROW = `up AS (${UPSERT_USER}),
     u AS (SELECT * FROM up UNION ALL SELECT * FROM users WHERE issuer = :issuer AND client_id = :clientId AND sub = :sub AND NOT EXISTS (SELECT 1 FROM up))`;

function userReplacements(launch: ValidatedLaunch, now: Date) {
  const identity = { issuer: launch.platform.issuer, clientId: launch.clientId, sub: launch.payload.sub as string };
  return { identity, replacements: { id: randomUUID(), ...identity, name: null, email: null, picture: null, locale: null, ...profileOf(launch.payload), now } };
}

async function upsertUser(launch: ValidatedLaunch): Promise<User> {
  const sequelize = User.sequelize!;
  const { identity, replacements } = userReplacements(launch, new Date());
  // SQLite cannot put an INSERT inside WITH; the empty WITH in front only makes Sequelize read the
  // RETURNING rows (it runs statements that begin with INSERT without reading rows).
  const sql = sequelize.getDialect() === 'postgres' ? `WITH ${USER_ROW} SELECT * FROM u` : `WITH unused AS (SELECT 1) ${UPSERT_USER}`;
  const rows = await sequelize.query<Record<string, unknown>>(sql, { replacements, type: QueryTypes.SELECT });
  // No row: unchanged (SQLite), or on PostgreSQL a concurrent first launch committed the row after this statement began.
  const user = rows[0] ? modelFromRow(User, rows[0]) : await User.findOne({ where: identity });
  if (!user) throw new Error('user upsert left no row');
  return user;
}

/**
 * PostgreSQL: consumes the login (as LoginStates.consume: state deleted, nonce recorded), upserts the
 * user and stores the launch, in one statement; the user and launch are written only if this request
 * consumed the login. Throws `replayed` when another request consumed it first (nothing is written).
 * Null when the login was consumed but the user row was not visible to the statement (a concurrent
 * first launch of the same person): the caller then upserts the user and stores the launch apart.
 */
async function consumeUpsertAndLaunch(validated: ValidatedLaunch, values: LaunchValues): Promise<{ user: User; launch: LtiLaunch } | null> {
  const now = new Date();
  const { replacements } = userReplacements(validated, now);
  let rows: Record<string, unknown>[];
  try {
    rows = await User.sequelize!.query<Record<string, unknown>>(
      `WITH gone AS (DELETE FROM lti_login_states WHERE state = :state RETURNING state),
       used AS (INSERT INTO lti_used_nonces (nonce, expires_at) SELECT :nonce, CAST(:nonceExpiresAt AS timestamptz) FROM gone RETURNING nonce),
       up AS (${upsertUserFrom('SELECT CAST(:id AS uuid), :issuer, :clientId, :sub, :name, :email, :picture, :locale, CAST(:now AS timestamptz), CAST(:now AS timestamptz) FROM used')}),
       u AS (SELECT * FROM up UNION ALL SELECT * FROM users WHERE issuer = :issuer AND client_id = :clientId AND sub = :sub AND EXISTS (SELECT 1 FROM used) AND NOT EXISTS (SELECT 1 FROM up)),
       l AS (INSERT INTO lti_launches (id, deployment_id, user_id, role, message_type, context_id, context_title, resource_link_id, resource_link_title, claims, frame_origins, expires_at, created_at)
         SELECT :launchId, CAST(:deploymentId AS uuid), u.id, :role, :messageType, :contextId, :contextTitle, :resourceLinkId, :resourceLinkTitle,
           CAST(:claims AS json), CAST(:frameOrigins AS json), CAST(:expiresAt AS timestamptz), CAST(:now AS timestamptz) FROM u
         RETURNING id)
       SELECT (SELECT count(*) FROM used) AS consumed_rows, (SELECT count(*) FROM l) AS launch_rows, u.* FROM (SELECT 1 AS one) AS one LEFT JOIN u ON true`,
      {
        replacements: {
          ...replacements,
          state: validated.state,
          nonce: validated.nonce,
          nonceExpiresAt: validated.nonceExpiresAt,
          launchId: values.id,
          deploymentId: values.deploymentId,
          role: values.role,
          messageType: values.messageType,
          contextId: values.contextId,
          contextTitle: values.contextTitle,
          resourceLinkId: values.resourceLinkId,
          resourceLinkTitle: values.resourceLinkTitle,
          claims: JSON.stringify(values.claims),
          frameOrigins: JSON.stringify(values.frameOrigins),
          expiresAt: values.expiresAt,
        },
        type: QueryTypes.SELECT,
      },
    );
  } catch (err) {
    if (err instanceof UniqueConstraintError) throw launchError('replayed');
    throw err;
  }
  const row = rows[0]!;
  if (Number(row.consumed_rows) !== 1) throw launchError('replayed');
  if (Number(row.launch_rows) !== 1) return null;
  const user = modelFromRow(User, row)!;
  const launch = LtiLaunch.build({ ...values, userId: user.id, createdAt: now }, { isNewRecord: false });
  return { user, launch };
}

/** Origins allowed to frame our pages for this launch: the platform's own and where it sends users back. */
function frameOrigins(launch: ValidatedLaunch): string[] {
  const urls = [
    launch.platform.issuer,
    launch.platform.authUrl,
    str(objectClaim(launch.payload, CLAIM.launchPresentation), 'return_url'),
    str(objectClaim(launch.payload, CLAIM.deepLinkingSettings), 'deep_link_return_url'),
  ];
  const origins = new Set<string>();
  for (const u of urls) {
    try {
      if (u) {
        const url = new URL(u);
        if (url.protocol === 'https:' || url.protocol === 'http:') origins.add(url.origin);
      }
    } catch {
      /* not a URL: ignore */
    }
  }
  return [...origins];
}

type LaunchValues = Omit<InferCreationAttributes<LtiLaunch>, 'userId' | 'createdAt'>;

export interface ResolvedLaunch {
  launch: LtiLaunch;
  deployment: Deployment;
  user: User;
}

/**
 * Resolves tenant, user and role (refused with a page when there is no access), consumes the login
 * of the checked launch (see checkLaunch) and stores the launch. Every outcome consumes the login
 * first or together with its writes, so a launch is acted on at most once.
 */
export async function resolveLaunch(validated: ValidatedLaunch, ltikMaxAgeSeconds: number, loginStates: LoginStates): Promise<ResolvedLaunch> {
  const p = validated.payload;
  const rolesClaim = p[CLAIM.roles];
  let deployment: Deployment;
  let role: ToolRole;
  try {
    deployment = await resolveDeployment(validated);
    const mapped = mapRoles(rolesClaim);
    if (!mapped) {
      throw launchError('no_access', 'Your role in this course does not give access to FeedForward. If you think it should, ask your instructor or LMS administrator.');
    }
    role = mapped;
  } catch (err) {
    // A refused launch still uses up its login; a concurrent copy is told it was replayed.
    await consumeLogin(loginStates, validated);
    throw err;
  }
  const context = objectClaim(p, CLAIM.context);
  const resourceLink = objectClaim(p, CLAIM.resourceLink);
  const claims: LaunchClaims = {
    roles: Array.isArray(rolesClaim) ? rolesClaim.filter((r): r is string => typeof r === 'string') : [],
    ags: objectClaim(p, CLAIM.ags) as LaunchClaims['ags'],
    nrps: objectClaim(p, CLAIM.nrps) as LaunchClaims['nrps'],
    deepLinkingSettings: objectClaim(p, CLAIM.deepLinkingSettings),
    custom: objectClaim(p, CLAIM.custom),
    platformProduct: str(objectClaim(p, CLAIM.toolPlatform), 'product_family_code'),
    sub: p.sub as string,
    issuer: validated.platform.issuer,
    clientId: validated.clientId,
    deploymentId: validated.deploymentId,
  };
  const values: LaunchValues = {
    id: validated.state,
    deploymentId: deployment.id,
    role,
    messageType: validated.messageType,
    contextId: str(context, 'id')?.slice(0, 255) ?? null,
    contextTitle: (str(context, 'title') ?? str(context, 'label'))?.slice(0, 255) ?? null,
    resourceLinkId: str(resourceLink, 'id')?.slice(0, 255) ?? null,
    resourceLinkTitle: str(resourceLink, 'title')?.slice(0, 255) ?? null,
    claims,
    frameOrigins: frameOrigins(validated),
    expiresAt: new Date(Date.now() + ltikMaxAgeSeconds * 1000),
  };
  if (LtiLaunch.sequelize!.getDialect() === 'postgres') {
    const together = await consumeUpsertAndLaunch(validated, values);
    if (together) return { ...together, deployment };
  } else {
    await consumeLogin(loginStates, validated);
  }
  const user = await upsertUser(validated);
  const launch = await LtiLaunch.create({ ...values, userId: user.id });
  return { launch, deployment, user };
}
