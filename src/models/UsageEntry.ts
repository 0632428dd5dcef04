import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';
import { bigintNumber } from './bigint';

export type UsageEntryType = 'run_call' | 'verify' | 'correction';

/** One provider call (or a correction of one) in the append-only usage ledger. */
const PSEUDONYMISABLE = new Set(['instructorUserId', 'ownerUserId']);

export class UsageEntry extends Model<InferAttributes<UsageEntry>, InferCreationAttributes<UsageEntry>> {
  declare id: CreationOptional<string>;
  declare deploymentId: string;
  declare entryType: UsageEntryType;
  declare providerId: string | null;
  declare providerKind: string | null;
  declare instanceId: CreationOptional<string | null>;
  declare model: CreationOptional<string | null>;
  declare ownerType: CreationOptional<string | null>;
  declare ownerUserId: CreationOptional<string | null>;
  declare instructorUserId: CreationOptional<string | null>;
  declare assignmentId: CreationOptional<string | null>;
  declare submissionId: CreationOptional<string | null>;
  declare runId: CreationOptional<string | null>;
  declare correctsEntryId: CreationOptional<string | null>;
  declare tokensIn: number;
  declare tokensOut: number;
  declare costMicros: number | null;
  declare unpriced: boolean;
  declare priceInputMicros: CreationOptional<number | null>;
  declare priceOutputMicros: CreationOptional<number | null>;
  declare latencyMs: CreationOptional<number | null>;
  declare outcome: string;
  declare note: CreationOptional<string | null>;
  declare createdAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    UsageEntry.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        deploymentId: { type: DataTypes.UUID, allowNull: false },
        entryType: { type: DataTypes.STRING(16), allowNull: false },
        providerId: { type: DataTypes.UUID, allowNull: true },
        providerKind: { type: DataTypes.STRING(32), allowNull: true },
        instanceId: { type: DataTypes.UUID, allowNull: true },
        model: { type: DataTypes.STRING(200), allowNull: true },
        ownerType: { type: DataTypes.STRING(16), allowNull: true },
        ownerUserId: { type: DataTypes.UUID, allowNull: true },
        instructorUserId: { type: DataTypes.UUID, allowNull: true },
        assignmentId: { type: DataTypes.UUID, allowNull: true },
        submissionId: { type: DataTypes.UUID, allowNull: true },
        runId: { type: DataTypes.UUID, allowNull: true },
        correctsEntryId: { type: DataTypes.UUID, allowNull: true },
        tokensIn: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        tokensOut: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        costMicros: bigintNumber('costMicros'),
        unpriced: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        priceInputMicros: bigintNumber('priceInputMicros'),
        priceOutputMicros: bigintNumber('priceOutputMicros'),
        latencyMs: { type: DataTypes.INTEGER, allowNull: true },
        outcome: { type: DataTypes.STRING(32), allowNull: false },
        note: { type: DataTypes.STRING(300), allowNull: true },
        createdAt: DataTypes.DATE,
      },
      {
        sequelize,
        tableName: 'usage_entries',
        underscored: true,
        updatedAt: false,
        // Append-only: a change is a new (correction) row, never an update or a delete.
        hooks: {
          beforeUpdate: () => {
            throw new Error('usage_entries is append-only: record a correction instead');
          },
          beforeDestroy: () => {
            throw new Error('usage_entries is append-only: record a correction instead');
          },
          // The one exception: erasing a person points the user ids at their pseudonym (amounts never change).
          beforeBulkUpdate: (options) => {
            const changed = Object.keys((options as { attributes?: Record<string, unknown> }).attributes ?? {});
            if (changed.length === 0 || changed.some((field) => !PSEUDONYMISABLE.has(field))) {
              throw new Error('usage_entries is append-only: record a correction instead');
            }
          },
          beforeBulkDestroy: () => {
            throw new Error('usage_entries is append-only: record a correction instead');
          },
        },
      },
    );
  }
}
