import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';
import { bigintNumber } from './bigint';

export type ReservationState = 'reserved' | 'settled' | 'released';

/** What a run holds against one budget while its provider call is in flight. */
export class BudgetReservation extends Model<InferAttributes<BudgetReservation>, InferCreationAttributes<BudgetReservation>> {
  declare id: CreationOptional<string>;
  declare deploymentId: string;
  declare budgetId: string;
  declare runId: string;
  declare amountMicros: number;
  declare settledMicros: CreationOptional<number | null>;
  declare state: ReservationState;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    BudgetReservation.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        deploymentId: { type: DataTypes.UUID, allowNull: false },
        budgetId: { type: DataTypes.UUID, allowNull: false },
        runId: { type: DataTypes.UUID, allowNull: false },
        amountMicros: bigintNumber('amountMicros', false),
        settledMicros: bigintNumber('settledMicros'),
        state: { type: DataTypes.STRING(10), allowNull: false },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'budget_reservations', underscored: true },
    );
  }
}
