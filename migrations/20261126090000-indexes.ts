import { Op } from 'sequelize';
import type { MigrationContext, Migration } from '../src/db/migrator';

// Indexes the benchmarks' queries lacked (issue #8), each checked with EXPLAIN on PostgreSQL:
//
// - assignments_by_creator (deployment_id, created_by_user_id): the budget banner on every
//   instructor screen and /instructor/usage list "my assignments"; /admin/usage lists a deployment's
//   assignments through its first column. Before: a sequential scan of every assignment.
// - assignments_by_context (deployment_id, context_id, created_at): a course's assignments (the
//   instructor's course page). Before: a sequential scan.
// - runs_due (created_at) WHERE status IN ('queued', 'running'): the worker's due-runs poll walks
//   the unfinished runs oldest first and stops at its limit, instead of fetching and sorting every
//   queued run on each poll. Finished runs (almost all rows) are not in it.
// - reservations_reserved (created_at) WHERE state = 'reserved': the housekeeping's open
//   reservations; before, a scan of the whole reservations_open index (one row per reservation ever).
// - submissions_retention (deployment_id, released_at) WHERE text IS NOT NULL AND status =
//   'released': the hourly retention sweep. Before: a sequential scan of every submission.
//
// The tables already exist and can be large: on PostgreSQL each index is built CONCURRENTLY (no
// write lock; umzug runs migrations outside a transaction). A CONCURRENTLY build that fails leaves
// an invalid index behind, so each is dropped first if present: running the migration again after
// a failure rebuilds it.

interface IndexSpec {
  table: string;
  name: string;
  fields: string[];
  where?: Record<string, unknown>;
}

const INDEXES: IndexSpec[] = [
  { table: 'assignments', name: 'assignments_by_creator', fields: ['deployment_id', 'created_by_user_id'] },
  { table: 'assignments', name: 'assignments_by_context', fields: ['deployment_id', 'context_id', 'created_at'] },
  { table: 'runs', name: 'runs_due', fields: ['created_at'], where: { status: { [Op.in]: ['queued', 'running'] } } },
  { table: 'budget_reservations', name: 'reservations_reserved', fields: ['created_at'], where: { state: 'reserved' } },
  { table: 'submissions', name: 'submissions_retention', fields: ['deployment_id', 'released_at'], where: { text: { [Op.ne]: null }, status: 'released' } },
];

async function dropIndex({ sequelize }: MigrationContext, name: string): Promise<void> {
  const concurrently = sequelize.getDialect() === 'postgres' ? 'CONCURRENTLY ' : '';
  await sequelize.query(`DROP INDEX ${concurrently}IF EXISTS "${name}"`);
}

export const up: Migration = async ({ context }) => {
  const concurrently = context.sequelize.getDialect() === 'postgres';
  for (const index of INDEXES) {
    await dropIndex(context, index.name);
    await context.queryInterface.addIndex(index.table, index.fields, { name: index.name, concurrently, ...(index.where ? { where: index.where } : {}) });
  }
};

export const down: Migration = async ({ context }) => {
  for (const index of [...INDEXES].reverse()) await dropIndex(context, index.name);
};
