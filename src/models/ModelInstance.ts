import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';
import type { OwnerType } from './Provider';

export interface InstanceParams {
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  contextSize?: number;
  systemPrompt?: string;
}

/** A provider connection + a model + parameters, owned by the system or one instructor. */
export class ModelInstance extends Model<InferAttributes<ModelInstance>, InferCreationAttributes<ModelInstance>> {
  declare id: CreationOptional<string>;
  declare deploymentId: string;
  declare ownerType: OwnerType;
  declare ownerUserId: string | null;
  declare providerId: string;
  declare model: string;
  declare name: string;
  declare params: InstanceParams;
  declare isDefault: CreationOptional<boolean>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    ModelInstance.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        deploymentId: { type: DataTypes.UUID, allowNull: false },
        ownerType: { type: DataTypes.STRING(16), allowNull: false },
        ownerUserId: { type: DataTypes.UUID, allowNull: true },
        providerId: { type: DataTypes.UUID, allowNull: false },
        model: { type: DataTypes.STRING(200), allowNull: false },
        name: { type: DataTypes.STRING(200), allowNull: false },
        params: { type: DataTypes.JSON, allowNull: false, defaultValue: {} },
        isDefault: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'model_instances', underscored: true },
    );
  }
}
