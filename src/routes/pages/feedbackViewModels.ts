import type { Progress } from '../../commands/assignmentActivity';
import { microsToDollars } from '../../commands/catalogue';
import type { CriterionFlag } from '../../feedback/types';
import type { Assignment, Run, Submission, User } from '../../models';
import { presentRun, presentSubmission } from '../../presenters/feedback';

// What the feedback screens show, built on the API presenters (a field the API does not expose
// cannot reach a page either) plus the words a person reads: statuses, reasons, scores.

/** A submission's status for its instructor. */
const SUBMISSION_WORDS: Record<string, string> = {
  queued: 'Queued',
  running: 'Generating feedback',
  ready: 'Ready for review',
  needs_review: 'Needs review',
  failed: 'Failed',
  released: 'Released',
};

export const submissionStatusWord = (status: string) => SUBMISSION_WORDS[status] ?? status;

/** A draft's status for its student: never runs, aggregates or reasons. */
const STUDENT_WORDS: Record<string, string> = {
  queued: 'Feedback is being generated…',
  running: 'Feedback is being generated…',
  ready: 'Waiting for your instructor\u2019s review',
  needs_review: 'Waiting for your instructor\u2019s review',
  // A failed draft is the instructor's to re-run; the student never sees the reason.
  failed: 'Feedback could not be generated yet. Your instructor can run it again.',
  released: 'Released',
};

const RUN_WORDS: Record<string, string> = {
  queued: 'Queued',
  running: 'Running',
  succeeded: 'Done',
  failed: 'Failed',
  invalid_output: 'Invalid answer',
  budget_wait: 'Waiting for budget',
};

/** Why a run failed, in words; the stored reason is one of our codes, never provider text. */
export const FAILURE_WORDS: Record<string, string> = {
  auth: 'The provider rejected the API key.',
  rate_limited: 'The provider kept rate limiting the requests.',
  quota: 'The provider account has run out of quota or credit.',
  timeout: 'The provider did not answer in time.',
  bad_request: 'The provider rejected the request as invalid (check the model instance\u2019s settings).',
  unavailable: 'The provider could not be reached or was unavailable.',
  invalid_output: 'The model\u2019s answer did not follow the rubric format, even after a repair attempt.',
  connection_removed: 'The provider connection was removed.',
  budget_forbids_unpriced: 'This model has no known price, and a budget that applies forbids models with no known price.',
  budget_exhausted: 'Waiting for budget: a budget that applies has no room left. The run starts by itself when room frees up.',
  internal: 'An error inside FeedForward.',
  erased: 'The student\u2019s data was erased before this run finished.',
  unknown: 'An unknown problem.',
};

const FAILURE_WORDS_JSON = JSON.stringify(FAILURE_WORDS);
export const failureWords = (code: string | null) => FAILURE_WORDS[code ?? 'unknown'] ?? FAILURE_WORDS.unknown!;

const FLAG_WORDS: Record<CriterionFlag, string> = {
  below_quorum: 'Below quorum',
  high_disagreement: 'High disagreement',
};

const GRADEBOOK_WORDS: Record<string, string> = {
  sent: 'Sent to the gradebook',
  failed: 'Gradebook refused the grade',
  not_applicable: 'No gradebook column',
};

export const AGGREGATION_OPTIONS = [
  { value: 'mean', label: 'Mean of the runs' },
  { value: 'median', label: 'Median of the runs' },
  { value: 'trimmed_mean', label: 'Trimmed mean (drops the highest and lowest)' },
  { value: 'weighted', label: 'Weighted by each model\u2019s weight' },
] as const;

export const aggregationLabel = (value: string) => AGGREGATION_OPTIONS.find((o) => o.value === value)?.label ?? value;

/** "$0.0123" from micro-dollars. */
export const dollars = (micros: number) => `$${microsToDollars(Math.max(0, Math.round(micros)))}`;

/** A score for people: at most two decimals, "—" for none. */
export function scoreText(score: number | null | undefined): string {
  if (typeof score !== 'number' || !Number.isFinite(score)) return '\u2014';
  return String(Math.round(score * 100) / 100);
}

export const rubricMax = (assignment: Assignment) => assignment.rubric.reduce((n, c) => n + c.maxScore, 0);

export function gradebookText(submission: Submission, assignment: Assignment): string {
  if (submission.agsStatus) return GRADEBOOK_WORDS[submission.agsStatus] ?? submission.agsStatus;
  if (!assignment.gradePassback) return 'Grade passback off';
  return submission.status === 'released' ? 'Not sent' : 'Sent on release';
}

const studentName = (user: User | undefined) => user?.name?.trim() || 'A student who shares no name';

/** "about 3 minutes left" (the same words as public/progress.js); empty when unknown. */
export function timeLeftWords(seconds: number | null): string {
  if (seconds === null) return '';
  if (seconds < 60) return 'about a minute left';
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `about ${minutes} minute${minutes === 1 ? '' : 's'} left`;
  const hours = Math.round(minutes / 60);
  return `about ${hours} hour${hours === 1 ? '' : 's'} left`;
}

/** The progress numbers in words for the page. */

export function progressView(progress: Progress) {
  const sub = (key: string) => progress.submissions[key] ?? 0;
  const run = (key: string) => progress.runs[key] ?? 0;
  return {
    submissions: [
      { key: 'submissions.total', label: 'Submissions', count: sub('total') },
      { key: 'submissions.queued', label: 'Queued', count: sub('queued') },
      { key: 'submissions.running', label: 'Generating feedback', count: sub('running') },
      { key: 'submissions.ready', label: 'Ready for review', count: sub('ready') },
      { key: 'submissions.needs_review', label: 'Needs review', count: sub('needs_review') },
      { key: 'submissions.failed', label: 'Failed', count: sub('failed') },
      { key: 'submissions.released', label: 'Released', count: sub('released') },
    ],
    runs: [
      { key: 'runs.total', label: 'Model runs', count: run('total') },
      { key: 'runs.queued', label: 'Queued', count: run('queued') },
      { key: 'runs.running', label: 'Running', count: run('running') },
      { key: 'runs.succeeded', label: 'Done', count: run('succeeded') },
      { key: 'runs.failed', label: 'Failed', count: run('failed') },
      { key: 'runs.invalid_output', label: 'Invalid answer', count: run('invalid_output') },
      { key: 'runs.budget_wait', label: 'Waiting for budget', count: run('budget_wait') },
    ],
    waitingForBudget: progress.waitingForBudget,
    timeLeft: timeLeftWords(progress.etaSeconds),
    failures: Object.entries(progress.failures).map(([code, count]) => ({ code, count, words: failureWords(code) })),
    /** The sentences for public/progress.js, so the live page and this one share one list. */
    failureWordsJson: FAILURE_WORDS_JSON,
    spend: dollars(progress.spendMicros),
    unpricedRuns: progress.unpricedRuns,
    working: sub('queued') + sub('running') > 0 || progress.waitingForBudget > 0,
  };
}

export function submissionRow(submission: Submission, assignment: Assignment, user: User | undefined, failedRuns: number) {
  const s = presentSubmission(submission, { instructor: true });
  return {
    id: s.id,
    studentName: studentName(user),
    draftNumber: s.draftNumber,
    status: s.status,
    statusWord: SUBMISSION_WORDS[s.status] ?? s.status,
    createdAt: s.createdAt,
    overallScore: scoreText(s.feedback?.overallScore ?? s.aggregate?.overallScore),
    overallMax: rubricMax(assignment),
    gradebook: gradebookText(submission, assignment),
    gradebookFailed: submission.agsStatus === 'failed',
    canRelease: s.status === 'ready' || s.status === 'needs_review',
    failedRuns,
    canRetry: failedRuns > 0 && s.status !== 'released' && s.status !== 'queued' && s.status !== 'running',
  };
}

export function runRow(run: Run, assignment: Assignment) {
  const r = presentRun(run);
  return {
    id: r.id,
    instanceName: r.instance.name,
    model: r.instance.model,
    number: r.runIndex + 1,
    status: r.status,
    statusWord: RUN_WORDS[r.status] ?? r.status,
    failed: r.status === 'failed' || r.status === 'invalid_output',
    reason: r.status === 'failed' || r.status === 'invalid_output' ? failureWords(r.errorCode) : null,
    attempts: r.attempts,
    scores: assignment.rubric.map((c) => ({ name: c.name, score: scoreText(r.output?.criteria.find((o) => o.criterionId === c.id)?.score), max: c.maxScore })),
    cost: r.costMicros === null ? null : dollars(r.costMicros),
    latency: r.latencyMs === null ? null : `${(r.latencyMs / 1000).toFixed(1)} s`,
  };
}

/** The aggregate per criterion, with its flags in words. */
export function aggregateRows(submission: Submission, assignment: Assignment) {
  const aggregate = submission.aggregate;
  if (!aggregate) return null;
  return {
    overallScore: scoreText(aggregate.overallScore),
    overallMax: aggregate.overallMax,
    needsReview: aggregate.needsReview,
    criteria: assignment.rubric.map((c) => {
      const a = aggregate.criteria.find((x) => x.criterionId === c.id);
      return {
        name: c.name,
        max: c.maxScore,
        score: scoreText(a?.score),
        spread: scoreText(a?.spread),
        successfulRuns: a?.successfulRuns ?? 0,
        flags: (a?.flags ?? []).map((f) => FLAG_WORDS[f] ?? f),
      };
    }),
  };
}

/** One draft as its student sees it: the presenter hides feedback until release. */
export function studentDraft(submission: Submission, assignment: Assignment) {
  const s = presentSubmission(submission, { instructor: false });
  const feedback = s.feedback;
  return {
    id: s.id,
    draftNumber: s.draftNumber,
    createdAt: s.createdAt,
    releasedAt: s.releasedAt,
    textRemovedAt: s.textRemovedAt,
    statusWord: STUDENT_WORDS[s.status] ?? 'Waiting for your instructor\u2019s review',
    working: s.status === 'queued' || s.status === 'running',
    feedback: feedback && {
      label: feedback.label,
      summary: feedback.summary,
      overallScore: scoreText(feedback.overallScore),
      overallMax: rubricMax(assignment),
      criteria: assignment.rubric.map((c) => {
        const f = feedback.criteria.find((x) => x.criterionId === c.id);
        return { name: c.name, max: c.maxScore, score: scoreText(f?.score), strengths: f?.strengths ?? [], improvements: f?.improvements ?? [], comment: f?.comment ?? '' };
      }),
    },
  };
}
