import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';
import type { AggregationMethod, Rubric } from '../feedback/types';

export interface AssignmentModelChoice {
  instanceId: string;
  runs: number;
  weight: number;
}

export type ReleaseMode = 'review' | 'auto';

/** One feedback assignment, bound to an LTI resource link of its deployment. */
export class Assignment extends Model<InferAttributes<Assignment>, InferCreationAttributes<Assignment>> {
  declare id: CreationOptional<string>;
  declare deploymentId: string;
  declare resourceLinkId: string | null;
  declare contextId: string | null;
  declare title: string;
  declare instructions: string;
  declare rubric: Rubric;
  declare models: AssignmentModelChoice[];
  declare aggregation: AggregationMethod;
  declare quorum: number | null;
  declare releaseMode: ReleaseMode;
  declare maxDrafts: number;
  declare maxChars: number;
  declare gradePassback: boolean;
  declare lineItemUrl: string | null;
  declare createdByUserId: string;
  /** The class size the instructor typed, for estimates when the platform offers no roster. */
  declare expectedStudents: CreationOptional<number | null>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    Assignment.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        deploymentId: { type: DataTypes.UUID, allowNull: false },
        resourceLinkId: { type: DataTypes.STRING(255), allowNull: true },
        contextId: { type: DataTypes.STRING(255), allowNull: true },
        title: { type: DataTypes.STRING(200), allowNull: false },
        instructions: { type: DataTypes.TEXT, allowNull: false },
        rubric: { type: DataTypes.JSON, allowNull: false },
        models: { type: DataTypes.JSON, allowNull: false },
        aggregation: { type: DataTypes.STRING(16), allowNull: false },
        quorum: { type: DataTypes.INTEGER, allowNull: true },
        releaseMode: { type: DataTypes.STRING(16), allowNull: false },
        maxDrafts: { type: DataTypes.INTEGER, allowNull: false },
        maxChars: { type: DataTypes.INTEGER, allowNull: false },
        gradePassback: { type: DataTypes.BOOLEAN, allowNull: false },
        lineItemUrl: { type: DataTypes.STRING(1024), allowNull: true },
        createdByUserId: { type: DataTypes.UUID, allowNull: false },
        expectedStudents: { type: DataTypes.INTEGER, allowNull: true },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'assignments', underscored: true },
    );
  }
}
