import { DataTypes } from 'sequelize';
import type { Migration } from '../src/db/migrator';

// LTI registration and launch state. Table names carry an lti_ prefix because ltijs-sequelize owns
// `platforms`, `states`, `nonces`, ... in the same database.

export const up: Migration = async ({ context: { queryInterface: q } }) => {
  await q.createTable('lti_platforms', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    issuer: { type: DataTypes.STRING(512), allowNull: false },
    client_id: { type: DataTypes.STRING(255), allowNull: false },
    name: { type: DataTypes.STRING(200), allowNull: false },
    auth_url: { type: DataTypes.STRING(1024), allowNull: false },
    token_url: { type: DataTypes.STRING(1024), allowNull: false },
    jwks_url: { type: DataTypes.STRING(1024), allowNull: false },
    authorization_server: { type: DataTypes.STRING(1024), allowNull: true },
    accept_new_deployments: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
    registered_via: { type: DataTypes.STRING(16), allowNull: false },
    product: { type: DataTypes.STRING(64), allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await q.addIndex('lti_platforms', ['issuer', 'client_id'], { unique: true, name: 'lti_platforms_key' });

  await q.addColumn('deployments', 'platform_id', {
    type: DataTypes.UUID,
    allowNull: true,
    references: { model: 'lti_platforms', key: 'id' },
    onDelete: 'SET NULL',
  });
  await q.addColumn('deployments', 'registered_via', { type: DataTypes.STRING(16), allowNull: true });

  // What our /lti/login issued: the state and the crypto-random nonce the id_token must carry.
  await q.createTable('lti_login_states', {
    state: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
    nonce: { type: DataTypes.STRING(64), allowNull: false },
    issuer: { type: DataTypes.STRING(512), allowNull: false },
    client_id: { type: DataTypes.STRING(255), allowNull: false },
    deployment_hint: { type: DataTypes.STRING(255), allowNull: true },
    target_link_uri: { type: DataTypes.STRING(1024), allowNull: false },
    expires_at: { type: DataTypes.DATE, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
  });
  await q.addIndex('lti_login_states', ['expires_at'], { name: 'lti_login_states_expiry' });

  // Single use enforced by the primary key: concurrent replays cannot both insert.
  await q.createTable('lti_used_nonces', {
    nonce: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
    expires_at: { type: DataTypes.DATE, allowNull: false },
  });

  // One row per successful launch; the ltik's `s` claim points here.
  await q.createTable('lti_launches', {
    id: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
    deployment_id: { type: DataTypes.UUID, allowNull: false, references: { model: 'deployments', key: 'id' }, onDelete: 'CASCADE' },
    user_id: { type: DataTypes.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
    role: { type: DataTypes.STRING(16), allowNull: false },
    message_type: { type: DataTypes.STRING(64), allowNull: false },
    context_id: { type: DataTypes.STRING(255), allowNull: true },
    context_title: { type: DataTypes.STRING(255), allowNull: true },
    resource_link_id: { type: DataTypes.STRING(255), allowNull: true },
    resource_link_title: { type: DataTypes.STRING(255), allowNull: true },
    claims: { type: DataTypes.JSON, allowNull: false, defaultValue: {} },
    frame_origins: { type: DataTypes.JSON, allowNull: false, defaultValue: [] },
    expires_at: { type: DataTypes.DATE, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
  });
  await q.addIndex('lti_launches', ['deployment_id', 'user_id'], { name: 'lti_launches_by_user' });
};

export const down: Migration = async ({ context: { queryInterface: q } }) => {
  await q.dropTable('lti_launches');
  await q.dropTable('lti_used_nonces');
  await q.dropTable('lti_login_states');
  await q.removeColumn('deployments', 'registered_via');
  await q.removeColumn('deployments', 'platform_id');
  await q.dropTable('lti_platforms');
};
