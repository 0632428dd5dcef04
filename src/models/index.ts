import type { Sequelize } from 'sequelize';
import { Assignment } from './Assignment';
import { AuditEvent } from './AuditEvent';
import { Budget } from './Budget';
import { BudgetAlert } from './BudgetAlert';
import { BudgetReservation } from './BudgetReservation';
import { CatalogueModel } from './CatalogueModel';
import { ModelInstance } from './ModelInstance';
import { Deployment } from './Deployment';
import { LtiLaunch } from './LtiLaunch';
import { LtiPlatform } from './LtiPlatform';
import { NoticeAcceptance } from './NoticeAcceptance';
import { Provider } from './Provider';
import { Run } from './Run';
import { Submission } from './Submission';
import { UsageEntry } from './UsageEntry';
import { User } from './User';

export { Assignment, AuditEvent, Budget, BudgetAlert, BudgetReservation, CatalogueModel, Deployment, LtiLaunch, LtiPlatform, ModelInstance, NoticeAcceptance, Provider, Run, Submission, UsageEntry, User };

/** Binds every model to this Sequelize instance (one database per process). */
export function initModels(sequelize: Sequelize): void {
  Deployment.initModel(sequelize);
  User.initModel(sequelize);
  Provider.initModel(sequelize);
  AuditEvent.initModel(sequelize);
  LtiPlatform.initModel(sequelize);
  LtiLaunch.initModel(sequelize);
  CatalogueModel.initModel(sequelize);
  ModelInstance.initModel(sequelize);
  Assignment.initModel(sequelize);
  Submission.initModel(sequelize);
  Run.initModel(sequelize);
  NoticeAcceptance.initModel(sequelize);
  UsageEntry.initModel(sequelize);
  Budget.initModel(sequelize);
  BudgetReservation.initModel(sequelize);
  BudgetAlert.initModel(sequelize);
}
