import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';
import type { Aggregate, RunOutput } from '../feedback/types';

export type SubmissionStatus = 'queued' | 'running' | 'ready' | 'needs_review' | 'failed' | 'released';

/** A student's draft and, once aggregated, its feedback. */
export class Submission extends Model<InferAttributes<Submission>, InferCreationAttributes<Submission>> {
  declare id: CreationOptional<string>;
  declare deploymentId: string;
  declare assignmentId: string;
  declare userId: string;
  declare draftNumber: number;
  declare text: string | null;
  declare textSha256: string;
  declare status: SubmissionStatus;
  declare aggregate: CreationOptional<Aggregate | null>;
  /** The feedback as the instructor left it (starts as the aggregate's). */
  declare feedback: CreationOptional<RunOutput | null>;
  declare overallScore: CreationOptional<number | null>;
  declare releasedAt: CreationOptional<Date | null>;
  declare releasedByUserId: CreationOptional<string | null>;
  declare agsStatus: CreationOptional<'sent' | 'failed' | 'not_applicable' | null>;
  declare agsError: CreationOptional<string | null>;
  /** When retention or erasure removed the text (text is then null). */
  declare textRemovedAt: CreationOptional<Date | null>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    Submission.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        deploymentId: { type: DataTypes.UUID, allowNull: false },
        assignmentId: { type: DataTypes.UUID, allowNull: false },
        userId: { type: DataTypes.UUID, allowNull: false },
        draftNumber: { type: DataTypes.INTEGER, allowNull: false },
        text: { type: DataTypes.TEXT, allowNull: true },
        textSha256: { type: DataTypes.STRING(64), allowNull: false },
        status: { type: DataTypes.STRING(16), allowNull: false },
        aggregate: { type: DataTypes.JSON, allowNull: true },
        feedback: { type: DataTypes.JSON, allowNull: true },
        overallScore: { type: DataTypes.DOUBLE, allowNull: true },
        releasedAt: { type: DataTypes.DATE, allowNull: true },
        releasedByUserId: { type: DataTypes.UUID, allowNull: true },
        agsStatus: { type: DataTypes.STRING(16), allowNull: true },
        agsError: { type: DataTypes.STRING(300), allowNull: true },
        textRemovedAt: { type: DataTypes.DATE, allowNull: true },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'submissions', underscored: true },
    );
  }
}
