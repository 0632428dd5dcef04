import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';

/** A student accepted this version (sha256 of the text) of their deployment's data-use notice. */
export class NoticeAcceptance extends Model<InferAttributes<NoticeAcceptance>, InferCreationAttributes<NoticeAcceptance>> {
  declare id: CreationOptional<string>;
  declare deploymentId: string;
  declare userId: string;
  declare noticeVersion: string;
  declare acceptedAt: Date;

  static initModel(sequelize: Sequelize): void {
    NoticeAcceptance.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        deploymentId: { type: DataTypes.UUID, allowNull: false },
        userId: { type: DataTypes.UUID, allowNull: false },
        noticeVersion: { type: DataTypes.STRING(64), allowNull: false },
        acceptedAt: { type: DataTypes.DATE, allowNull: false },
      },
      { sequelize, tableName: 'notice_acceptances', underscored: true, timestamps: false },
    );
  }
}
