import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';
import type { RunOutput } from '../feedback/types';
import type { InstanceParams } from './ModelInstance';

// budget_wait: no room in a budget that applies; queued again when room frees up (never dropped).
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'invalid_output' | 'budget_wait';
/** A run in one of these states is done: no worker will touch it again. */
export const FINAL_RUN_STATUSES = ['succeeded', 'failed', 'invalid_output'] as const satisfies readonly RunStatus[];

/** What the instance was when the submission was made, so later edits never change a queued run. */
export interface InstanceSnapshot {
  name: string;
  providerId: string;
  model: string;
  params: InstanceParams;
  weight: number;
}

/** One provider call's worth of work: (submission, instance, run index), exactly once. */
export class Run extends Model<InferAttributes<Run>, InferCreationAttributes<Run>> {
  declare id: CreationOptional<string>;
  declare deploymentId: string;
  declare submissionId: string;
  declare instanceId: string;
  declare providerId: string;
  declare runIndex: number;
  declare idempotencyKey: string;
  declare instanceSnapshot: InstanceSnapshot;
  declare status: RunStatus;
  declare attempts: CreationOptional<number>;
  declare leaseToken: CreationOptional<string | null>;
  declare leaseExpiresAt: CreationOptional<Date | null>;
  declare nextAttemptAt: CreationOptional<Date | null>;
  declare errorCode: CreationOptional<string | null>;
  declare output: CreationOptional<RunOutput | null>;
  declare tokensIn: CreationOptional<number | null>;
  declare tokensOut: CreationOptional<number | null>;
  declare costMicros: CreationOptional<number | null>;
  declare latencyMs: CreationOptional<number | null>;
  declare startedAt: CreationOptional<Date | null>;
  declare finishedAt: CreationOptional<Date | null>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    Run.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        deploymentId: { type: DataTypes.UUID, allowNull: false },
        submissionId: { type: DataTypes.UUID, allowNull: false },
        instanceId: { type: DataTypes.UUID, allowNull: false },
        providerId: { type: DataTypes.UUID, allowNull: false },
        runIndex: { type: DataTypes.INTEGER, allowNull: false },
        idempotencyKey: { type: DataTypes.STRING(120), allowNull: false },
        instanceSnapshot: { type: DataTypes.JSON, allowNull: false },
        status: { type: DataTypes.STRING(20), allowNull: false },
        attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        leaseToken: { type: DataTypes.STRING(36), allowNull: true },
        leaseExpiresAt: { type: DataTypes.DATE, allowNull: true },
        nextAttemptAt: { type: DataTypes.DATE, allowNull: true },
        errorCode: { type: DataTypes.STRING(32), allowNull: true },
        output: { type: DataTypes.JSON, allowNull: true },
        tokensIn: { type: DataTypes.INTEGER, allowNull: true },
        tokensOut: { type: DataTypes.INTEGER, allowNull: true },
        costMicros: {
          type: DataTypes.BIGINT,
          allowNull: true,
          get(this: Run) {
            const raw = this.getDataValue('costMicros') as unknown;
            return raw === null || raw === undefined ? null : Number(raw);
          },
        },
        latencyMs: { type: DataTypes.INTEGER, allowNull: true },
        startedAt: { type: DataTypes.DATE, allowNull: true },
        finishedAt: { type: DataTypes.DATE, allowNull: true },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'runs', underscored: true },
    );
  }
}
