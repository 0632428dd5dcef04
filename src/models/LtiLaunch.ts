import { CreationOptional, DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize } from 'sequelize';
import type { ToolRole } from '../lti/roles';

/** What one validated launch established: tenant, user, role, course and the LTI service endpoints. */
export class LtiLaunch extends Model<InferAttributes<LtiLaunch>, InferCreationAttributes<LtiLaunch>> {
  declare id: string;
  declare deploymentId: string;
  declare userId: string;
  declare role: ToolRole;
  declare messageType: string;
  declare contextId: string | null;
  declare contextTitle: string | null;
  declare resourceLinkId: string | null;
  declare resourceLinkTitle: string | null;
  declare claims: LaunchClaims;
  declare frameOrigins: string[];
  declare expiresAt: Date;
  declare createdAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    LtiLaunch.init(
      {
        id: { type: DataTypes.STRING(64), primaryKey: true },
        deploymentId: { type: DataTypes.UUID, allowNull: false },
        userId: { type: DataTypes.UUID, allowNull: false },
        role: { type: DataTypes.STRING(16), allowNull: false },
        messageType: { type: DataTypes.STRING(64), allowNull: false },
        contextId: { type: DataTypes.STRING(255), allowNull: true },
        contextTitle: { type: DataTypes.STRING(255), allowNull: true },
        resourceLinkId: { type: DataTypes.STRING(255), allowNull: true },
        resourceLinkTitle: { type: DataTypes.STRING(255), allowNull: true },
        claims: { type: DataTypes.JSON, allowNull: false, defaultValue: {} },
        frameOrigins: { type: DataTypes.JSON, allowNull: false, defaultValue: [] },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
        createdAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'lti_launches', underscored: true, updatedAt: false },
    );
  }
}

/** The parts of the id_token later requests need (AGS, NRPS, deep linking), never the raw token. */
export interface LaunchClaims {
  roles: string[];
  ags?: { scope?: string[]; lineitems?: string; lineitem?: string };
  nrps?: { context_memberships_url?: string };
  deepLinkingSettings?: Record<string, unknown>;
  custom?: Record<string, unknown>;
  platformProduct?: string;
  sub: string;
  issuer: string;
  clientId: string;
  deploymentId: string;
}
