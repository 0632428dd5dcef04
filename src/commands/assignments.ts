import type { Sequelize } from 'sequelize';
import { conflict, forbidden, notFound } from '../errors';
import type { AggregationMethod, Rubric } from '../feedback/types';
import type { LaunchSession } from '../lti/session';
import { Assignment, ModelInstance } from '../models';
import type { AssignmentModelChoice, ReleaseMode } from '../models/Assignment';
import { isVisible, requireId } from '../policies/ownership';
import { defaultInstances } from './modelInstances';
import { fieldError } from './validation';

// Assignments: one per LTI resource link. Created from a resource-link launch (bound at once) or
// by deep linking (bound when the returned link is first launched, through its custom parameter).

export const ASSIGNMENT_CUSTOM_PARAM = 'feedforward_assignment';

export interface AssignmentInput {
  title: string;
  instructions: string;
  rubric: Rubric;
  models: AssignmentModelChoice[];
  aggregation: AggregationMethod;
  quorum?: number | null;
  releaseMode: ReleaseMode;
  maxDrafts: number;
  maxChars: number;
  gradePassback: boolean;
  expectedStudents?: number | null;
}

/** A majority of the runs that score each criterion. */
export function defaultQuorum(models: AssignmentModelChoice[]): number {
  const total = models.reduce((n, m) => n + m.runs, 0);
  return Math.floor(total / 2) + 1;
}

function checkRubric(rubric: Rubric): void {
  const ids = new Set<string>();
  rubric.forEach((c, i) => {
    if (ids.has(c.id)) throw fieldError(`rubric.${i}.id`, 'must be unique within the rubric');
    ids.add(c.id);
  });
}

/** Every instance must be one this instructor can see in this deployment. */
async function checkModels(session: LaunchSession, models: AssignmentModelChoice[]): Promise<void> {
  const seen = new Set<string>();
  for (const [i, choice] of models.entries()) {
    if (seen.has(choice.instanceId)) throw fieldError(`models.${i}.instanceId`, 'is listed twice');
    seen.add(choice.instanceId);
    const instance = /^[0-9a-f-]{36}$/i.test(choice.instanceId) ? await ModelInstance.findByPk(choice.instanceId) : null;
    if (!instance || !isVisible(session, instance)) throw fieldError(`models.${i}.instanceId`, 'no such model instance');
  }
}

function checkQuorum(input: Pick<AssignmentInput, 'quorum' | 'models'>): number | null {
  if (input.quorum === undefined || input.quorum === null) return null;
  const total = input.models.reduce((n, m) => n + m.runs, 0);
  if (input.quorum > total) throw fieldError('quorum', `must be at most the total number of runs (${total})`);
  return input.quorum;
}

/** The assignment of this launch's course that this session may configure, or 404. */
export async function findAssignmentForInstructor(session: LaunchSession, id: unknown): Promise<Assignment> {
  if (session.role !== 'admin' && session.role !== 'instructor') throw forbidden();
  const assignment = await Assignment.findOne({ where: { id: requireId(id), deploymentId: session.deployment.id } });
  // Instructors work within the course they launched from; another course's assignment is not theirs.
  if (!assignment || (assignment.contextId && assignment.contextId !== session.launch.contextId)) throw notFound('No such assignment.');
  return assignment;
}

/** The assignment bound to this launch's resource link, if any. */
export async function assignmentOfLaunch(session: LaunchSession): Promise<Assignment | null> {
  const { resourceLinkId } = session.launch;
  if (!resourceLinkId) return null;
  const bound = await Assignment.findOne({ where: { deploymentId: session.deployment.id, resourceLinkId } });
  if (bound) return bound;
  // A deep-linked assignment is bound by its first launch.
  const custom = session.launch.claims.custom?.[ASSIGNMENT_CUSTOM_PARAM];
  if (typeof custom !== 'string' || !/^[0-9a-f-]{36}$/i.test(custom)) return null;
  const pending = await Assignment.findOne({ where: { id: custom, deploymentId: session.deployment.id, resourceLinkId: null } });
  if (!pending || (pending.contextId && pending.contextId !== session.launch.contextId)) return null;
  await pending.update({ resourceLinkId, lineItemUrl: session.launch.claims.ags?.lineitem ?? pending.lineItemUrl });
  return pending;
}

/** Creates an assignment for this launch: bound to its resource link, or unbound from a deep-linking launch. */
export async function createAssignment(sequelize: Sequelize, session: LaunchSession, input: AssignmentInput): Promise<Assignment> {
  if (session.role !== 'admin' && session.role !== 'instructor') throw forbidden();
  checkRubric(input.rubric);
  await checkModels(session, input.models);
  const quorum = checkQuorum(input);
  const resourceLinkId = session.launch.messageType === 'LtiResourceLinkRequest' ? session.launch.resourceLinkId : null;
  return sequelize.transaction(async (transaction) => {
    if (resourceLinkId && (await Assignment.count({ where: { deploymentId: session.deployment.id, resourceLinkId }, transaction }))) {
      throw conflict('This link already has an assignment. Edit it instead.');
    }
    return Assignment.create(
      {
        deploymentId: session.deployment.id,
        resourceLinkId,
        contextId: session.launch.contextId,
        ...input,
        quorum,
        lineItemUrl: session.launch.claims.ags?.lineitem ?? null,
        createdByUserId: session.user.id,
      },
      { transaction },
    );
  });
}

export async function updateAssignment(session: LaunchSession, assignment: Assignment, input: Partial<AssignmentInput>): Promise<Assignment> {
  if (input.rubric) checkRubric(input.rubric);
  if (input.models) await checkModels(session, input.models);
  // An explicit null quorum means "back to a majority"; an absent one keeps the current value.
  const quorum = checkQuorum({ quorum: 'quorum' in input ? input.quorum : assignment.quorum, models: input.models ?? assignment.models });
  await assignment.update({ ...input, quorum });
  return assignment;
}

/** Default choices for a new assignment: the admin's default instances, two runs each. */
export async function defaultModelChoices(deploymentId: string): Promise<AssignmentModelChoice[]> {
  return (await defaultInstances(deploymentId)).map((i) => ({ instanceId: i.id, runs: 2, weight: 1 }));
}
