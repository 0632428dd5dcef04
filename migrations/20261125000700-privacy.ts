import { DataTypes } from 'sequelize';
import type { Migration } from '../src/db/migrator';

// Student data: when retention removed a submission's text, each deployment's pseudonym salt, and
// students' acceptance of the data-use notice. Additive only: new nullable columns and a new table,
// so it takes no long lock on a live PostgreSQL.

export const up: Migration = async ({ context: { queryInterface: q } }) => {
  await q.addColumn('submissions', 'text_removed_at', { type: DataTypes.DATE, allowNull: true });
  // Salts the hash providers see instead of a user id; generated on first use, never SECRET_KEY.
  await q.addColumn('deployments', 'pseudonym_salt', { type: DataTypes.STRING(64), allowNull: true });

  await q.createTable('notice_acceptances', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    deployment_id: { type: DataTypes.UUID, allowNull: false, references: { model: 'deployments', key: 'id' }, onDelete: 'RESTRICT' },
    user_id: { type: DataTypes.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
    // sha256 of the notice text the student saw: a reworded notice asks again.
    notice_version: { type: DataTypes.STRING(64), allowNull: false },
    accepted_at: { type: DataTypes.DATE, allowNull: false },
  });
  await q.addIndex('notice_acceptances', ['deployment_id', 'user_id', 'notice_version'], { unique: true, name: 'notice_acceptances_key' });
};

export const down: Migration = async ({ context: { queryInterface: q } }) => {
  await q.dropTable('notice_acceptances');
  await q.removeColumn('deployments', 'pseudonym_salt');
  await q.removeColumn('submissions', 'text_removed_at');
};
