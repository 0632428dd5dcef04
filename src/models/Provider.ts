import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';
import type { SealedSecret } from '../secrets/vault';

export type OwnerType = 'system' | 'instructor';
export type ProviderStatus = 'unverified' | 'valid' | 'invalid' | 'unreachable';

export interface ProviderApiConfig {
  baseUrl?: string;
  organization?: string;
  project?: string;
  secret: SealedSecret;
}

/** A provider connection: a provider kind plus its sealed API key, owned by the system or one instructor. */
export class Provider extends Model<InferAttributes<Provider>, InferCreationAttributes<Provider>> {
  declare id: CreationOptional<string>;
  declare deploymentId: string;
  declare kind: string;
  declare label: string;
  declare ownerType: OwnerType;
  declare ownerUserId: string | null;
  declare apiConfig: ProviderApiConfig;
  declare keyHint: string;
  declare keyFingerprint: string;
  declare status: CreationOptional<ProviderStatus>;
  declare statusReason: CreationOptional<string | null>;
  declare verifiedAt: CreationOptional<Date | null>;
  declare disabled: CreationOptional<boolean>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    Provider.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        deploymentId: { type: DataTypes.UUID, allowNull: false },
        kind: { type: DataTypes.STRING(32), allowNull: false },
        label: { type: DataTypes.STRING(200), allowNull: false },
        ownerType: { type: DataTypes.STRING(16), allowNull: false },
        ownerUserId: { type: DataTypes.UUID, allowNull: true },
        apiConfig: { type: DataTypes.JSON, allowNull: false, field: 'api_config' },
        keyHint: { type: DataTypes.STRING(8), allowNull: false },
        keyFingerprint: { type: DataTypes.STRING(64), allowNull: false },
        status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'unverified' },
        statusReason: { type: DataTypes.STRING(64), allowNull: true },
        verifiedAt: { type: DataTypes.DATE, allowNull: true },
        disabled: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'providers', underscored: true },
    );
  }
}
