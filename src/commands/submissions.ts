import { createHash, randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import type { Sequelize } from 'sequelize';
import { driverOf, isUniqueViolation } from '../db/driver';
import { badRequest, conflict, forbidden, notFound, payloadTooLarge } from '../errors';
import { notifyRunsQueued } from '../feedback/queue';
import { runJobsFor } from '../feedback/runJobs';
import type { LaunchSession } from '../lti/session';
import { Assignment, ModelInstance, Submission } from '../models';
import type { SubmissionStatus } from '../models/Submission';
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
  submission: { id: string; status: SubmissionStatus; draftNumber: number };
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

// A class submits at once at a deadline, so these statements are plain SQL on the driver (through
// Sequelize they cost ~1.5 ms of CPU each; the fan-out benchmark's web process spent ~23 ms per
// submission, most of it there).
interface DraftRow {
  id: string;
  draft_number: number;
  text_sha256: string;
  status: SubmissionStatus;
  created_at: Date | string;
}
const DRAFT_COLUMNS = '"id", "draft_number", "text_sha256", "status", "created_at"';
const draftOf = (row: DraftRow) => ({ id: row.id, status: row.status, draftNumber: Number(row.draft_number) });
const INSERT_SUBMISSION = `INSERT INTO "submissions" ("id", "deployment_id", "assignment_id", "user_id", "draft_number", "text", "text_sha256", "status", "created_at", "updated_at")
VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $8)`;
const RUN_COLUMNS = ['id', 'deployment_id', 'submission_id', 'instance_id', 'provider_id', 'run_index', 'idempotency_key', 'instance_snapshot', 'created_at'];
/** One INSERT of `count` queued runs: each row's values are parameters, its created_at also its updated_at. */
function insertRunsSql(count: number): string {
  const width = RUN_COLUMNS.length;
  const rows = Array.from({ length: count }, (_, r) => {
    const param = (column: number) => `$${r * width + column + 1}`;
    return `(${RUN_COLUMNS.map((_column, c) => param(c)).join(', ')}, 'queued', 0, ${param(width - 1)})`;
  });
  return `INSERT INTO "runs" (${RUN_COLUMNS.map((c) => `"${c}"`).join(', ')}, "status", "attempts", "updated_at") VALUES ${rows.join(', ')}`;
}

/** Submits a draft for feedback; identical text within a short window returns the existing draft. */
// A class submits at once at a deadline. Taken a few at a time per process, the first drafts are
// written (and their runs start) at once, instead of after every request of the burst has
// interleaved its statements with the others; and the burst uses a few pooled database connections
// instead of opening new ones, whose first queries were the slowest (the fan-out benchmark: the first
// submission took ~230 ms, ~100 ms of it one read on a new PostgreSQL connection).
const SUBMISSIONS_AT_ONCE = 2;
const submitting = new WeakMap<Sequelize, ReturnType<typeof pLimit>>();

export function createSubmission(sequelize: Sequelize, session: LaunchSession, assignment: Assignment, rawText: string): Promise<SubmissionResult> {
  let limit = submitting.get(sequelize);
  if (!limit) submitting.set(sequelize, (limit = pLimit(SUBMISSIONS_AT_ONCE)));
  return limit(() => submit(sequelize, session, assignment, rawText));
}

async function submit(sequelize: Sequelize, session: LaunchSession, assignment: Assignment, rawText: string): Promise<SubmissionResult> {
  if (session.role !== 'student') throw forbidden('Only students submit work.');
  await requireNoticeAccepted(session);
  const text = cleanText(rawText);
  if (!text) throw badRequest('Write something before submitting.');
  if (text.length > assignment.maxChars) throw payloadTooLarge(`Your text has ${text.length} characters; this assignment accepts at most ${assignment.maxChars}.`);
  const textSha256 = createHash('sha256').update(text).digest('hex');
  const driver = driverOf(sequelize);

  // The student's drafts (at most maxDrafts) in one read: their count, and a recent one with the same text.
  const earlier = await driver.all<DraftRow>(`SELECT ${DRAFT_COLUMNS} FROM "submissions" WHERE "assignment_id" = $1 AND "user_id" = $2 ORDER BY "draft_number" DESC`, [assignment.id, session.user.id]);
  const recent = earlier.find((d) => d.text_sha256 === textSha256 && new Date(d.created_at).getTime() > Date.now() - DUPLICATE_WINDOW_MS);
  if (recent) return { submission: draftOf(recent), created: false };

  const drafts = earlier.length;
  if (drafts >= assignment.maxDrafts) throw conflict(`You have used all ${assignment.maxDrafts} drafts for this assignment.`);
  const planned = await plannedRuns(assignment, text);
  const draftNumber = drafts + 1;

  try {
    const submission = await sequelize.transaction(async (transaction) => {
      const statements = driver.within(transaction);
      const id = randomUUID();
      const now = driver.date(new Date());
      await statements.run(INSERT_SUBMISSION, [id, assignment.deploymentId, assignment.id, session.user.id, draftNumber, text, textSha256, now]);
      // One run row per (instance, run index), each with its idempotency key.
      const runs = planned.flatMap(({ instance, snapshot, runs: count }) =>
        Array.from({ length: count }, (_, runIndex) => [randomUUID(), assignment.deploymentId, id, instance.id, snapshot.providerId, runIndex, `${id}:${instance.id}:${runIndex}`, driver.json(snapshot), now]),
      );
      if (runs.length) await statements.run(insertRunsSql(runs.length), runs.flat());
      // On PostgreSQL the jobs are written in this same transaction: a rollback leaves neither.
      await runJobsFor(sequelize)?.enqueue(sequelize, runs.map((r) => r[0] as string), transaction);
      return { id, status: 'queued' as const, draftNumber };
    });
    notifyRunsQueued();
    return { submission, created: true };
  } catch (err) {
    // A concurrent request for the same draft number won: return that draft instead of a second one.
    if (isUniqueViolation(err)) {
      const [existing] = await driver.all<DraftRow>(`SELECT ${DRAFT_COLUMNS} FROM "submissions" WHERE "assignment_id" = $1 AND "user_id" = $2 AND "draft_number" = $3`, [assignment.id, session.user.id, draftNumber]);
      if (existing) return { submission: draftOf(existing), created: false };
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
