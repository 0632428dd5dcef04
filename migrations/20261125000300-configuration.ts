import { DataTypes } from 'sequelize';
import type { Migration } from '../src/db/migrator';

// Admin price overrides live beside the catalogue price, so a newer data file can update the
// catalogue price without erasing what an admin decided.

export const up: Migration = async ({ context: { queryInterface: q } }) => {
  await q.addColumn('models', 'input_price_override_micros', { type: DataTypes.BIGINT, allowNull: true });
  await q.addColumn('models', 'output_price_override_micros', { type: DataTypes.BIGINT, allowNull: true });
  await q.addIndex('model_instances', ['deployment_id', 'is_default'], { name: 'model_instances_defaults' });
};

export const down: Migration = async ({ context: { queryInterface: q } }) => {
  await q.removeIndex('model_instances', 'model_instances_defaults');
  await q.removeColumn('models', 'output_price_override_micros');
  await q.removeColumn('models', 'input_price_override_micros');
};
