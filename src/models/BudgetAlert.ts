import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';

/** A budget crossed 80 or 100 percent in a period; unique, so each alert is recorded once. */
export class BudgetAlert extends Model<InferAttributes<BudgetAlert>, InferCreationAttributes<BudgetAlert>> {
  declare id: CreationOptional<string>;
  declare deploymentId: string;
  declare budgetId: string;
  declare periodKey: string;
  declare threshold: number;
  declare createdAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    BudgetAlert.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        deploymentId: { type: DataTypes.UUID, allowNull: false },
        budgetId: { type: DataTypes.UUID, allowNull: false },
        periodKey: { type: DataTypes.STRING(8), allowNull: false },
        threshold: { type: DataTypes.INTEGER, allowNull: false },
        createdAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'budget_alerts', underscored: true, updatedAt: false },
    );
  }
}
