import { DataTypes } from 'sequelize';
import type { Migration } from '../src/db/migrator';

// Cost control: the append-only usage ledger (one row per provider call, corrections are new rows),
// budgets per deployment / connection / instructor / assignment, the reservations runs hold against
// them while a call is in flight, and the once-per-period threshold alerts. Runs gain no column: the
// new status `budget_wait` fits the existing status column. Assignments gain the class size an
// instructor types when the platform offers no roster (NRPS).

const id = { type: DataTypes.UUID, primaryKey: true, allowNull: false };
const deploymentRef = { type: DataTypes.UUID, allowNull: false, references: { model: 'deployments', key: 'id' }, onDelete: 'RESTRICT' };

export const up: Migration = async ({ context: { queryInterface: q } }) => {
  await q.createTable('usage_entries', {
    id,
    deployment_id: deploymentRef,
    // run_call | verify | correction
    entry_type: { type: DataTypes.STRING(16), allowNull: false },
    provider_id: { type: DataTypes.UUID, allowNull: true },
    provider_kind: { type: DataTypes.STRING(32), allowNull: true },
    instance_id: { type: DataTypes.UUID, allowNull: true },
    model: { type: DataTypes.STRING(200), allowNull: true },
    // Who owns the connection (system | instructor) and who configured the assignment.
    owner_type: { type: DataTypes.STRING(16), allowNull: true },
    owner_user_id: { type: DataTypes.UUID, allowNull: true },
    instructor_user_id: { type: DataTypes.UUID, allowNull: true },
    assignment_id: { type: DataTypes.UUID, allowNull: true },
    submission_id: { type: DataTypes.UUID, allowNull: true },
    run_id: { type: DataTypes.UUID, allowNull: true },
    // The row a correction amends.
    corrects_entry_id: { type: DataTypes.UUID, allowNull: true },
    tokens_in: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    tokens_out: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    // Integer micro-dollars; null when the model has no known price (never 0 for "unknown").
    cost_micros: { type: DataTypes.BIGINT, allowNull: true },
    unpriced: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    price_input_micros: { type: DataTypes.BIGINT, allowNull: true },
    price_output_micros: { type: DataTypes.BIGINT, allowNull: true },
    latency_ms: { type: DataTypes.INTEGER, allowNull: true },
    outcome: { type: DataTypes.STRING(32), allowNull: false },
    note: { type: DataTypes.STRING(300), allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
  });
  await q.addIndex('usage_entries', ['deployment_id', 'created_at'], { name: 'usage_by_deployment' });
  await q.addIndex('usage_entries', ['deployment_id', 'provider_id', 'created_at'], { name: 'usage_by_connection' });
  await q.addIndex('usage_entries', ['deployment_id', 'instructor_user_id', 'created_at'], { name: 'usage_by_instructor' });
  await q.addIndex('usage_entries', ['deployment_id', 'assignment_id', 'created_at'], { name: 'usage_by_assignment' });
  await q.addIndex('usage_entries', ['run_id'], { name: 'usage_by_run' });

  await q.createTable('budgets', {
    id,
    deployment_id: deploymentRef,
    // deployment | connection | instructor | assignment
    scope: { type: DataTypes.STRING(16), allowNull: false },
    scope_id: { type: DataTypes.UUID, allowNull: false },
    // month (calendar month, UTC) | total
    period: { type: DataTypes.STRING(8), allowNull: false },
    limit_micros: { type: DataTypes.BIGINT, allowNull: false },
    forbid_unpriced: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    created_by_user_id: { type: DataTypes.UUID, allowNull: true },
    updated_by_user_id: { type: DataTypes.UUID, allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await q.addIndex('budgets', ['deployment_id', 'scope', 'scope_id'], { unique: true, name: 'budgets_scope' });

  await q.createTable('budget_reservations', {
    id,
    deployment_id: deploymentRef,
    budget_id: { type: DataTypes.UUID, allowNull: false, references: { model: 'budgets', key: 'id' }, onDelete: 'CASCADE' },
    run_id: { type: DataTypes.UUID, allowNull: false },
    amount_micros: { type: DataTypes.BIGINT, allowNull: false },
    settled_micros: { type: DataTypes.BIGINT, allowNull: true },
    // reserved | settled | released
    state: { type: DataTypes.STRING(10), allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await q.addIndex('budget_reservations', ['budget_id', 'state'], { name: 'reservations_open' });
  await q.addIndex('budget_reservations', ['run_id', 'state'], { name: 'reservations_by_run' });

  // One row per (budget, period, threshold): the 80% warning and the 100% stop are recorded once.
  await q.createTable('budget_alerts', {
    id,
    deployment_id: deploymentRef,
    budget_id: { type: DataTypes.UUID, allowNull: false, references: { model: 'budgets', key: 'id' }, onDelete: 'CASCADE' },
    period_key: { type: DataTypes.STRING(8), allowNull: false },
    threshold: { type: DataTypes.INTEGER, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
  });
  await q.addIndex('budget_alerts', ['budget_id', 'period_key', 'threshold'], { unique: true, name: 'budget_alerts_once' });

  await q.addColumn('assignments', 'expected_students', { type: DataTypes.INTEGER, allowNull: true });
};

export const down: Migration = async ({ context: { queryInterface: q } }) => {
  await q.removeColumn('assignments', 'expected_students');
  await q.dropTable('budget_alerts');
  await q.dropTable('budget_reservations');
  await q.dropTable('budgets');
  await q.dropTable('usage_entries');
};
