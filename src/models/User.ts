import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';

/** A person as one platform knows them: (issuer, client_id, sub). */
export class User extends Model<InferAttributes<User>, InferCreationAttributes<User>> {
  declare id: CreationOptional<string>;
  declare issuer: string;
  declare clientId: string;
  declare sub: string;
  declare name: CreationOptional<string | null>;
  declare email: CreationOptional<string | null>;
  declare picture: CreationOptional<string | null>;
  declare locale: CreationOptional<string | null>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    User.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        issuer: { type: DataTypes.STRING(512), allowNull: false },
        clientId: { type: DataTypes.STRING(255), allowNull: false },
        sub: { type: DataTypes.STRING(255), allowNull: false },
        name: { type: DataTypes.STRING(255), allowNull: true },
        email: { type: DataTypes.STRING(320), allowNull: true },
        picture: { type: DataTypes.STRING(1024), allowNull: true },
        locale: { type: DataTypes.STRING(35), allowNull: true },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'users', underscored: true },
    );
  }
}
