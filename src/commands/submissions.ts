import { createHash } from 'node:crypto';
import { Sequelize, UniqueConstraintError } from 'sequelize';
import { badRequest, conflict, forbidden, notFound, payloadTooLarge } from '../errors';
import { notifyRunsQueued } from '../feedback/queue';
import { runJobsFor } from '../feedback/runJobs';
import type { LaunchSession } from '../lti/session';
import { Assignment, ModelInstance, Run, Submission } from '../models';
import type { InstanceSnapshot } from '../models/Run';
import { requireId } from '../policies/ownership';
import { modelsOf } from '../usage/estimate';
import { requireNoticeAccepted } from '../privacy/notice';
import { cleanText } from './validation';

// A submission and its runs are written in one transaction: one run row per (instance, run index),
// each with a unique idempotency key, so a double click or a retried request makes no second call.

const DUPLICATE_WINDOW_MS = 10 * 60 * 1000;
/** Tokens the instructions, rubric and output format take besides the submission (generous). */
const PROMPT_OVERHEAD_TOKENS = 3000;
const approxTokens = (text: string) => Math.ceil(text.length / 3);

export interface SubmissionResult {
  submission: Submission;
  created: boolean;
}

/** Instance snapshots for the assignment's models, refusing text that does not fit a model's context. Three reads, however many models. */
async function plannedRuns(assignment: Assignment, text: string): Promise<Array<{ instance: ModelInstance; snapshot: InstanceSnapshot; runs: number }>> {
  const { instanceById, providerById, entryOf } = await modelsOf(assignment);
  const planned = [];
  for (const choice of assignment.models) {
    const instance = instanceById.get(choice.instanceId.toLowerCase());
    const provider = instance && providerById.get(instance.providerId);
    if (!instance || !provider) throw conflict('One of the models of this assignment is no longer available. Ask your instructor to update the assignment.');
    const entry = entryOf(provider.kind, instance.model);
    const window = instance.params.contextSize ?? entry?.contextWindow ?? null;
    const output = instance.params.maxTokens ?? 1500;
    if (window !== null && approxTokens(text) + PROMPT_OVERHEAD_TOKENS + output > window) {
      throw badRequest(`Your text is too long for the feedback models of this assignment (about ${approxTokens(text)} tokens; the limit is about ${Math.max(0, window - PROMPT_OVERHEAD_TOKENS - output)}). Shorten it and submit again.`);
    }
    planned.push({ instance, runs: choice.runs, snapshot: { name: instance.name, providerId: provider.id, model: instance.model, params: instance.params, weight: choice.weight } });
  }
  return planned;
}

/** Submits a draft for feedback; identical text within a short window returns the existing draft. */
export async function createSubmission(sequelize: Sequelize, session: LaunchSession, assignment: Assignment, rawText: string): Promise<SubmissionResult> {
  if (session.role !== 'student') throw forbidden('Only students submit work.');
  await requireNoticeAccepted(session);
  const text = cleanText(rawText);
  if (!text) throw badRequest('Write something before submitting.');
  if (text.length > assignment.maxChars) throw payloadTooLarge(`Your text has ${text.length} characters; this assignment accepts at most ${assignment.maxChars}.`);
  const textSha256 = createHash('sha256').update(text).digest('hex');

  // The student's drafts (at most maxDrafts) in one read: their count, and a recent one with the same text.
  const earlier = await Submission.findAll({ where: { assignmentId: assignment.id, userId: session.user.id }, attributes: ['id', 'draftNumber', 'textSha256', 'createdAt'], order: [['draftNumber', 'DESC']] });
  const recent = earlier.find((d) => d.textSha256 === textSha256 && d.createdAt.getTime() > Date.now() - DUPLICATE_WINDOW_MS);
  const again = recent && (await Submission.findByPk(recent.id));
  if (again) return { submission: again, created: false };

  const drafts = earlier.length;
  if (drafts >= assignment.maxDrafts) throw conflict(`You have used all ${assignment.maxDrafts} drafts for this assignment.`);
  const planned = await plannedRuns(assignment, text);

  try {
    const submission = await sequelize.transaction(async (transaction) => {
      const created = await Submission.create(
        { deploymentId: assignment.deploymentId, assignmentId: assignment.id, userId: session.user.id, draftNumber: drafts + 1, text, textSha256, status: 'queued' },
        { transaction },
      );
      const rows = planned.flatMap(({ instance, snapshot, runs }) =>
        Array.from({ length: runs }, (_, runIndex) => ({
          deploymentId: assignment.deploymentId,
          submissionId: created.id,
          instanceId: instance.id,
          providerId: snapshot.providerId,
          runIndex,
          idempotencyKey: `${created.id}:${instance.id}:${runIndex}`,
          instanceSnapshot: snapshot,
          status: 'queued' as const,
        })),
      );
      const runs = await Run.bulkCreate(rows, { transaction });
      // On PostgreSQL the jobs are written in this same transaction: a rollback leaves neither.
      await runJobsFor(sequelize)?.enqueue(sequelize, runs.map((r) => r.id), transaction);
      return created;
    });
    notifyRunsQueued();
    return { submission, created: true };
  } catch (err) {
    // A concurrent request for the same draft number won: return that draft instead of a second one.
    if (err instanceof UniqueConstraintError) {
      const existing = await Submission.findOne({ where: { assignmentId: assignment.id, userId: session.user.id, draftNumber: drafts + 1 } });
      if (existing) return { submission: existing, created: false };
    }
    throw err;
  }
}

/** A submission this session may see: the student's own, or any of the course's for its instructors. */
export async function findVisibleSubmission(session: LaunchSession, id: unknown): Promise<{ submission: Submission; assignment: Assignment }> {
  const submission = await Submission.findOne({ where: { id: requireId(id), deploymentId: session.deployment.id } });
  const assignment = submission && (await Assignment.findByPk(submission.assignmentId));
  if (!submission || !assignment) throw notFound('No such submission.');
  const instructorHere = (session.role === 'instructor' || session.role === 'admin') && (!assignment.contextId || assignment.contextId === session.launch.contextId);
  if (!instructorHere && submission.userId !== session.user.id) throw notFound('No such submission.');
  return { submission, assignment };
}
