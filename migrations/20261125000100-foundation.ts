import { DataTypes } from 'sequelize';
import type { Migration } from '../src/db/migrator';

// Foundation tables. Every row the tool owns carries its deployment (the tenant).

const id = { type: DataTypes.UUID, primaryKey: true, allowNull: false };
const timestamps = {
  created_at: { type: DataTypes.DATE, allowNull: false },
  updated_at: { type: DataTypes.DATE, allowNull: false },
};
const ownerColumns = {
  owner_type: { type: DataTypes.STRING(16), allowNull: false },
  owner_user_id: { type: DataTypes.UUID, allowNull: true, references: { model: 'users', key: 'id' }, onDelete: 'RESTRICT' },
};
const deploymentRef = { type: DataTypes.UUID, allowNull: false, references: { model: 'deployments', key: 'id' }, onDelete: 'RESTRICT' };

export const up: Migration = async ({ context: { queryInterface: q } }) => {
  await q.createTable('deployments', {
    id,
    issuer: { type: DataTypes.STRING(512), allowNull: false },
    client_id: { type: DataTypes.STRING(255), allowNull: false },
    deployment_id: { type: DataTypes.STRING(255), allowNull: false },
    name: { type: DataTypes.STRING(200), allowNull: true },
    active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
    settings: { type: DataTypes.JSON, allowNull: false, defaultValue: {} },
    ...timestamps,
  });
  await q.addIndex('deployments', ['issuer', 'client_id', 'deployment_id'], { unique: true, name: 'deployments_tenant_key' });

  await q.createTable('users', {
    id,
    issuer: { type: DataTypes.STRING(512), allowNull: false },
    client_id: { type: DataTypes.STRING(255), allowNull: false },
    sub: { type: DataTypes.STRING(255), allowNull: false },
    name: { type: DataTypes.STRING(255), allowNull: true },
    email: { type: DataTypes.STRING(320), allowNull: true },
    picture: { type: DataTypes.STRING(1024), allowNull: true },
    locale: { type: DataTypes.STRING(35), allowNull: true },
    ...timestamps,
  });
  await q.addIndex('users', ['issuer', 'client_id', 'sub'], { unique: true, name: 'users_identity_key' });

  await q.createTable('providers', {
    id,
    deployment_id: deploymentRef,
    kind: { type: DataTypes.STRING(32), allowNull: false },
    label: { type: DataTypes.STRING(200), allowNull: false },
    ...ownerColumns,
    // { baseUrl?, organization?, project?, secret: { v, kid, token } } — the key only ever sealed.
    api_config: { type: DataTypes.JSON, allowNull: false },
    key_hint: { type: DataTypes.STRING(8), allowNull: false },
    key_fingerprint: { type: DataTypes.STRING(64), allowNull: false },
    status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'unverified' },
    status_reason: { type: DataTypes.STRING(64), allowNull: true },
    verified_at: { type: DataTypes.DATE, allowNull: true },
    disabled: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    ...timestamps,
  });
  await q.addIndex('providers', ['deployment_id', 'owner_type', 'owner_user_id'], { name: 'providers_scope' });

  await q.createTable('models', {
    id,
    deployment_id: deploymentRef,
    provider_kind: { type: DataTypes.STRING(32), allowNull: false },
    model: { type: DataTypes.STRING(200), allowNull: false },
    display_name: { type: DataTypes.STRING(200), allowNull: false },
    context_window: { type: DataTypes.INTEGER, allowNull: true },
    max_output: { type: DataTypes.INTEGER, allowNull: true },
    // Micro-dollars per 1M tokens: integers, so costs never drift. Null means "price unknown".
    input_price_micros: { type: DataTypes.BIGINT, allowNull: true },
    output_price_micros: { type: DataTypes.BIGINT, allowNull: true },
    price_date: { type: DataTypes.STRING(10), allowNull: true },
    source: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'catalogue' },
    hidden: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    ...timestamps,
  });
  await q.addIndex('models', ['deployment_id', 'provider_kind', 'model'], { unique: true, name: 'models_catalogue_key' });

  await q.createTable('model_instances', {
    id,
    deployment_id: deploymentRef,
    ...ownerColumns,
    provider_id: { type: DataTypes.UUID, allowNull: false, references: { model: 'providers', key: 'id' }, onDelete: 'RESTRICT' },
    model: { type: DataTypes.STRING(200), allowNull: false },
    name: { type: DataTypes.STRING(200), allowNull: false },
    params: { type: DataTypes.JSON, allowNull: false, defaultValue: {} },
    is_default: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    ...timestamps,
  });
  await q.addIndex('model_instances', ['deployment_id', 'owner_type', 'owner_user_id'], { name: 'model_instances_scope' });
  await q.addIndex('model_instances', ['provider_id'], { name: 'model_instances_provider' });

  await q.createTable('audit_events', {
    id,
    deployment_id: { type: DataTypes.UUID, allowNull: true, references: { model: 'deployments', key: 'id' }, onDelete: 'RESTRICT' },
    actor_user_id: { type: DataTypes.UUID, allowNull: true },
    actor_label: { type: DataTypes.STRING(200), allowNull: true },
    action: { type: DataTypes.STRING(64), allowNull: false },
    target_type: { type: DataTypes.STRING(64), allowNull: true },
    target_id: { type: DataTypes.STRING(255), allowNull: true },
    details: { type: DataTypes.JSON, allowNull: false, defaultValue: {} },
    created_at: { type: DataTypes.DATE, allowNull: false },
  });
  await q.addIndex('audit_events', ['deployment_id', 'created_at'], { name: 'audit_events_by_deployment' });

  // One row proving that the configured SECRET_KEY is the one that encrypted this database.
  await q.createTable('key_checks', {
    id: { type: DataTypes.STRING(32), primaryKey: true, allowNull: false },
    kid: { type: DataTypes.STRING(32), allowNull: false },
    token: { type: DataTypes.TEXT, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
};

export const down: Migration = async ({ context: { queryInterface: q } }) => {
  for (const table of ['key_checks', 'audit_events', 'model_instances', 'models', 'providers', 'users', 'deployments']) {
    await q.dropTable(table);
  }
};
