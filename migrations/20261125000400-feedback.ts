import { DataTypes, Op } from 'sequelize';
import type { Migration } from '../src/db/migrator';

// Assignments (one per LTI resource link), submissions (drafts) and runs (instance × run index).
// The domain rows are the truth for the job system: a run's status and lease decide who executes it.

const id = { type: DataTypes.UUID, primaryKey: true, allowNull: false };
const deploymentRef = { type: DataTypes.UUID, allowNull: false, references: { model: 'deployments', key: 'id' }, onDelete: 'RESTRICT' };
const timestamps = {
  created_at: { type: DataTypes.DATE, allowNull: false },
  updated_at: { type: DataTypes.DATE, allowNull: false },
};

export const up: Migration = async ({ context: { queryInterface: q } }) => {
  await q.createTable('assignments', {
    id,
    deployment_id: deploymentRef,
    resource_link_id: { type: DataTypes.STRING(255), allowNull: true },
    context_id: { type: DataTypes.STRING(255), allowNull: true },
    title: { type: DataTypes.STRING(200), allowNull: false },
    instructions: { type: DataTypes.TEXT, allowNull: false },
    rubric: { type: DataTypes.JSON, allowNull: false },
    models: { type: DataTypes.JSON, allowNull: false },
    aggregation: { type: DataTypes.STRING(16), allowNull: false },
    quorum: { type: DataTypes.INTEGER, allowNull: true },
    release_mode: { type: DataTypes.STRING(16), allowNull: false },
    max_drafts: { type: DataTypes.INTEGER, allowNull: false },
    max_chars: { type: DataTypes.INTEGER, allowNull: false },
    grade_passback: { type: DataTypes.BOOLEAN, allowNull: false },
    line_item_url: { type: DataTypes.STRING(1024), allowNull: true },
    created_by_user_id: { type: DataTypes.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'RESTRICT' },
    ...timestamps,
  });
  await q.addIndex('assignments', ['deployment_id', 'resource_link_id'], { unique: true, name: 'assignments_resource_link', where: { resource_link_id: { [Op.ne]: null } } });

  await q.createTable('submissions', {
    id,
    deployment_id: deploymentRef,
    assignment_id: { type: DataTypes.UUID, allowNull: false, references: { model: 'assignments', key: 'id' }, onDelete: 'RESTRICT' },
    user_id: { type: DataTypes.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'RESTRICT' },
    draft_number: { type: DataTypes.INTEGER, allowNull: false },
    text: { type: DataTypes.TEXT, allowNull: true },
    text_sha256: { type: DataTypes.STRING(64), allowNull: false },
    status: { type: DataTypes.STRING(16), allowNull: false },
    aggregate: { type: DataTypes.JSON, allowNull: true },
    feedback: { type: DataTypes.JSON, allowNull: true },
    overall_score: { type: DataTypes.DOUBLE, allowNull: true },
    released_at: { type: DataTypes.DATE, allowNull: true },
    released_by_user_id: { type: DataTypes.UUID, allowNull: true },
    ags_status: { type: DataTypes.STRING(16), allowNull: true },
    ags_error: { type: DataTypes.STRING(300), allowNull: true },
    ...timestamps,
  });
  await q.addIndex('submissions', ['assignment_id', 'user_id', 'draft_number'], { unique: true, name: 'submissions_draft' });
  await q.addIndex('submissions', ['deployment_id', 'assignment_id', 'status'], { name: 'submissions_progress' });

  await q.createTable('runs', {
    id,
    deployment_id: deploymentRef,
    submission_id: { type: DataTypes.UUID, allowNull: false, references: { model: 'submissions', key: 'id' }, onDelete: 'CASCADE' },
    instance_id: { type: DataTypes.UUID, allowNull: false },
    provider_id: { type: DataTypes.UUID, allowNull: false },
    run_index: { type: DataTypes.INTEGER, allowNull: false },
    // instance × run index of one submission: a retried request or a duplicated job finds this row.
    idempotency_key: { type: DataTypes.STRING(120), allowNull: false, unique: true },
    instance_snapshot: { type: DataTypes.JSON, allowNull: false },
    status: { type: DataTypes.STRING(20), allowNull: false },
    attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    lease_token: { type: DataTypes.STRING(36), allowNull: true },
    lease_expires_at: { type: DataTypes.DATE, allowNull: true },
    next_attempt_at: { type: DataTypes.DATE, allowNull: true },
    error_code: { type: DataTypes.STRING(32), allowNull: true },
    output: { type: DataTypes.JSON, allowNull: true },
    tokens_in: { type: DataTypes.INTEGER, allowNull: true },
    tokens_out: { type: DataTypes.INTEGER, allowNull: true },
    cost_micros: { type: DataTypes.BIGINT, allowNull: true },
    latency_ms: { type: DataTypes.INTEGER, allowNull: true },
    started_at: { type: DataTypes.DATE, allowNull: true },
    finished_at: { type: DataTypes.DATE, allowNull: true },
    ...timestamps,
  });
  await q.addIndex('runs', ['status', 'next_attempt_at'], { name: 'runs_queue' });
  await q.addIndex('runs', ['submission_id'], { name: 'runs_by_submission' });
  await q.addIndex('runs', ['provider_id', 'status'], { name: 'runs_by_provider' });
};

export const down: Migration = async ({ context: { queryInterface: q } }) => {
  await q.dropTable('runs');
  await q.dropTable('submissions');
  await q.dropTable('assignments');
};
