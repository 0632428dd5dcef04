import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';
import { bigintNumber } from './bigint';

export type BudgetScope = 'deployment' | 'connection' | 'instructor' | 'assignment';
export type BudgetPeriod = 'month' | 'total';

/** A spending limit on one scope of a deployment, per calendar month (UTC) or in total. */
export class Budget extends Model<InferAttributes<Budget>, InferCreationAttributes<Budget>> {
  declare id: CreationOptional<string>;
  declare deploymentId: string;
  declare scope: BudgetScope;
  declare scopeId: string;
  declare period: BudgetPeriod;
  declare limitMicros: number;
  declare forbidUnpriced: boolean;
  declare createdByUserId: string | null;
  declare updatedByUserId: string | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    Budget.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        deploymentId: { type: DataTypes.UUID, allowNull: false },
        scope: { type: DataTypes.STRING(16), allowNull: false },
        scopeId: { type: DataTypes.UUID, allowNull: false },
        period: { type: DataTypes.STRING(8), allowNull: false },
        limitMicros: bigintNumber('limitMicros', false),
        forbidUnpriced: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        createdByUserId: { type: DataTypes.UUID, allowNull: true },
        updatedByUserId: { type: DataTypes.UUID, allowNull: true },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'budgets', underscored: true },
    );
  }
}
