import { QueryTypes, Sequelize, Transaction } from 'sequelize';
import type { Deployment, User } from '../models';

// ltijs-sequelize kept its own copy of each launch in the same database until the tool issued ltiks
// itself (src/lti/ltik.ts); databases from before still hold them: `idtokens` (sub, name and email in
// userInfo, per deployment) and `contexttokens` (sub, course and link, keyed by a context id that
// begins with the URI-encoded issuer + client id + deployment id). Our models do not map them,
// so they are read and deleted here with plain SQL; identifiers are quoted for both databases.

export interface LtijsRows {
  idtokens: Record<string, unknown>[];
  contexttokens: Record<string, unknown>[];
}

/** ltijs's context ids for this deployment start with this (see ltijs Provider.js, contextId). */
const contextPrefix = (deployment: Deployment) => encodeURIComponent(deployment.issuer + deployment.clientId + deployment.deploymentId);

async function idTokenRows(sequelize: Sequelize, deployment: Deployment, user: User, transaction?: Transaction) {
  return sequelize.query<Record<string, unknown>>(
    'SELECT * FROM "idtokens" WHERE "iss" = :iss AND "clientId" = :clientId AND "deploymentId" = :deploymentId AND "user" = :sub',
    { type: QueryTypes.SELECT, replacements: { iss: deployment.issuer, clientId: deployment.clientId, deploymentId: deployment.deploymentId, sub: user.sub }, transaction },
  );
}

async function contextTokenRows(sequelize: Sequelize, deployment: Deployment, user: User, transaction?: Transaction) {
  const rows = await sequelize.query<Record<string, unknown>>('SELECT * FROM "contexttokens" WHERE "user" = :sub', { type: QueryTypes.SELECT, replacements: { sub: user.sub }, transaction });
  // Filtered here rather than with LIKE: the prefix is full of % signs.
  const prefix = contextPrefix(deployment);
  return rows.filter((r) => typeof r.contextId === 'string' && r.contextId.startsWith(prefix));
}

/** ltijs's rows about this user in this deployment. */
export async function ltijsRowsOf(sequelize: Sequelize, deployment: Deployment, user: User, transaction?: Transaction): Promise<LtijsRows> {
  return { idtokens: await idTokenRows(sequelize, deployment, user, transaction), contexttokens: await contextTokenRows(sequelize, deployment, user, transaction) };
}

/** Deletes ltijs's rows about this user in this deployment; returns how many. */
export async function deleteLtijsRows(sequelize: Sequelize, deployment: Deployment, user: User, transaction: Transaction): Promise<number> {
  const { idtokens, contexttokens } = await ltijsRowsOf(sequelize, deployment, user, transaction);
  let deleted = 0;
  for (const [table, rows] of [['idtokens', idtokens], ['contexttokens', contexttokens]] as const) {
    const ids = rows.map((r) => r.id);
    if (!ids.length) continue;
    await sequelize.query(`DELETE FROM "${table}" WHERE "id" IN (:ids)`, { replacements: { ids }, transaction });
    deleted += ids.length;
  }
  return deleted;
}
