import { QueryTypes, Sequelize } from 'sequelize';
import { notFound } from '../errors';
import { Deployment, User } from '../models';
import { requireId } from '../policies/ownership';
import { PROVIDER_USER_ID, providerUserId } from './pseudonym';

// The users of one deployment: people who launched it, submitted, created an assignment or
// accepted its notice. A user row is shared by every deployment of its platform client, so
// "belongs to this deployment" is decided by these rows, never by the user row alone.

const MEMBER_IDS_SQL = `
  SELECT user_id FROM lti_launches WHERE deployment_id = :deploymentId
  UNION SELECT user_id FROM submissions WHERE deployment_id = :deploymentId
  UNION SELECT created_by_user_id FROM assignments WHERE deployment_id = :deploymentId
  UNION SELECT user_id FROM notice_acceptances WHERE deployment_id = :deploymentId`;

async function memberIds(sequelize: Sequelize, deploymentId: string): Promise<string[]> {
  const rows = await sequelize.query<{ user_id: string }>(MEMBER_IDS_SQL, { type: QueryTypes.SELECT, replacements: { deploymentId } });
  return rows.map((r) => r.user_id);
}

/** The user with this id if they belong to this deployment; 404 otherwise (another tenant's user does not exist here). */
export async function findMember(sequelize: Sequelize, deployment: Deployment, id: unknown): Promise<User> {
  const userId = requireId(id);
  const user = await User.findOne({ where: { id: userId, issuer: deployment.issuer, clientId: deployment.clientId } });
  if (!user || !(await memberIds(sequelize, deployment.id)).includes(user.id)) throw notFound('No such user in this deployment.');
  return user;
}

/** Members whose sub, name or email contains `query`, or the one a provider pseudonym names (at most 50). */
export async function searchMembers(sequelize: Sequelize, deployment: Deployment, search: { query?: string; pseudonym?: string }): Promise<User[]> {
  const ids = await memberIds(sequelize, deployment.id);
  if (!ids.length) return [];
  if (search.pseudonym !== undefined) {
    const wanted = search.pseudonym.trim().toLowerCase();
    if (!PROVIDER_USER_ID.test(wanted)) return [];
    for (const id of ids) if ((await providerUserId(deployment.id, id)) === wanted) return User.findAll({ where: { id } });
    return [];
  }
  // Filtered here, not with LIKE: SQLite and PostgreSQL escape LIKE patterns differently.
  const query = (search.query ?? '').trim().toLowerCase();
  const users = await User.findAll({ where: { id: ids }, order: [['name', 'ASC'], ['sub', 'ASC']] });
  const matches = (u: User) => [u.sub, u.name, u.email].some((v) => (v ?? '').toLowerCase().includes(query));
  return users.filter(matches).slice(0, 50);
}
