import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';

/** A registered LMS: (issuer, client_id) and where its keys and endpoints live. */
export class LtiPlatform extends Model<InferAttributes<LtiPlatform>, InferCreationAttributes<LtiPlatform>> {
  declare id: CreationOptional<string>;
  declare issuer: string;
  declare clientId: string;
  declare name: string;
  declare authUrl: string;
  declare tokenUrl: string;
  declare jwksUrl: string;
  declare authorizationServer: string | null;
  declare acceptNewDeployments: CreationOptional<boolean>;
  declare active: CreationOptional<boolean>;
  declare registeredVia: 'cli' | 'dynamic';
  declare product: CreationOptional<string | null>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    LtiPlatform.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        issuer: { type: DataTypes.STRING(512), allowNull: false },
        clientId: { type: DataTypes.STRING(255), allowNull: false },
        name: { type: DataTypes.STRING(200), allowNull: false },
        authUrl: { type: DataTypes.STRING(1024), allowNull: false },
        tokenUrl: { type: DataTypes.STRING(1024), allowNull: false },
        jwksUrl: { type: DataTypes.STRING(1024), allowNull: false },
        authorizationServer: { type: DataTypes.STRING(1024), allowNull: true },
        acceptNewDeployments: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
        registeredVia: { type: DataTypes.STRING(16), allowNull: false },
        product: { type: DataTypes.STRING(64), allowNull: true },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'lti_platforms', underscored: true },
    );
  }
}
