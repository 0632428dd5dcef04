import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';

/** The tenant: one (issuer, client_id, deployment_id). */
export class Deployment extends Model<InferAttributes<Deployment>, InferCreationAttributes<Deployment>> {
  declare id: CreationOptional<string>;
  declare issuer: string;
  declare clientId: string;
  declare deploymentId: string;
  declare name: CreationOptional<string | null>;
  declare active: CreationOptional<boolean>;
  declare settings: CreationOptional<Record<string, unknown>>;
  declare platformId: CreationOptional<string | null>;
  declare registeredVia: CreationOptional<string | null>;
  /** Salts the pseudonym providers see for a user; see src/privacy/pseudonym.ts. */
  declare pseudonymSalt: CreationOptional<string | null>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    Deployment.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        issuer: { type: DataTypes.STRING(512), allowNull: false },
        clientId: { type: DataTypes.STRING(255), allowNull: false },
        deploymentId: { type: DataTypes.STRING(255), allowNull: false },
        name: { type: DataTypes.STRING(200), allowNull: true },
        active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
        settings: { type: DataTypes.JSON, allowNull: false, defaultValue: {} },
        platformId: { type: DataTypes.UUID, allowNull: true },
        registeredVia: { type: DataTypes.STRING(16), allowNull: true },
        pseudonymSalt: { type: DataTypes.STRING(64), allowNull: true },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'deployments', underscored: true },
    );
  }
}
