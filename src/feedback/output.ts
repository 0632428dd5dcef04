import { z } from 'zod';
import { cleanText } from '../commands/validation';
import { assertUsableRubric, type CriterionFeedback, type Rubric, type RunOutput } from './types';

// The gate between a model's text and everything downstream: nothing reaches an instructor, a
// student or the gradebook unless it passed here. A score is taken as given or the answer is
// rejected; it is never invented, rounded into range or clamped. Text is cleaned of what PostgreSQL
// cannot store (NUL, lone surrogates) and bounded, but otherwise kept exactly (no Unicode
// normalisation: emoji, CJK, RTL overrides and combining marks round-trip as sent).

export const OUTPUT_LIMITS = {
  commentChars: 2000,
  summaryChars: 4000,
  /** Most strengths, and most improvements, kept per criterion. */
  points: 10,
  pointChars: 500,
} as const;

export type ParsedRunOutput = { ok: true; output: RunOutput } | { ok: false; problem: string };

const criterionShape = z.object({
  criterionId: z.string(),
  score: z.number(), // no coercion: "3" is the wrong schema, and zod 4 rejects NaN and ±Infinity
  strengths: z.array(z.string()),
  improvements: z.array(z.string()),
  comment: z.string(),
});

// Unknown keys are dropped, not rejected: they carry nothing we show.
const outputShape = z.object({
  criteria: z.array(criterionShape),
  summary: z.string(),
});

const MOST_PROBLEMS_REPORTED = 5;

/**
 * Validates one model answer against the rubric: a bare JSON object, or one alone in a single
 * markdown fence. Returns the cleaned output in rubric order, or a short problem suitable for
 * repairPrompt(). Throws only when the rubric itself is unusable.
 */
export function parseRunOutput(text: string, rubric: Rubric): ParsedRunOutput {
  assertUsableRubric(rubric);
  const json = jsonTextOf(text);
  if (!json.ok) return json;

  let value: unknown;
  try {
    value = JSON.parse(json.text);
  } catch {
    return fail('the answer is not valid JSON (it may be cut off)');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('the answer must be a JSON object');

  const shaped = outputShape.safeParse(value);
  if (!shaped.success) {
    return fail(
      shaped.error.issues
        .slice(0, MOST_PROBLEMS_REPORTED)
        .map((issue) => `${pathOf(issue.path)}: ${issue.message}`)
        .join('; '),
    );
  }

  const problems: string[] = [];
  const byId = new Map<string, CriterionFeedback>();
  for (const answer of shaped.data.criteria) {
    const criterion = rubric.find((c) => c.id === answer.criterionId);
    if (!criterion) {
      problems.push(`unknown criterionId ${quoted(answer.criterionId)}`);
      continue;
    }
    if (byId.has(criterion.id)) {
      problems.push(`criterion ${quoted(criterion.id)} appears more than once`);
      continue;
    }
    if (!(answer.score >= 0 && answer.score <= criterion.maxScore)) {
      problems.push(`score for ${quoted(criterion.id)} must be from 0 to ${criterion.maxScore} (got ${answer.score})`);
    }
    const comment = bounded(answer.comment, OUTPUT_LIMITS.commentChars);
    if (comment === '') problems.push(`comment for ${quoted(criterion.id)} is empty`);
    byId.set(criterion.id, {
      criterionId: criterion.id,
      score: answer.score === 0 ? 0 : answer.score, // -0 becomes 0
      strengths: points(answer.strengths),
      improvements: points(answer.improvements),
      comment,
    });
  }
  for (const criterion of rubric) {
    if (!byId.has(criterion.id)) problems.push(`criterion ${quoted(criterion.id)} is missing`);
  }
  const summary = bounded(shaped.data.summary, OUTPUT_LIMITS.summaryChars);
  if (summary === '') problems.push('summary is empty');
  if (problems.length > 0) return fail(problems.slice(0, MOST_PROBLEMS_REPORTED).join('; '));

  return { ok: true, output: { criteria: rubric.map((criterion) => byId.get(criterion.id)!), summary } };
}

/** The follow-up user message for the single repair retry after `problem`. */
export function repairPrompt(problem: string): string {
  const reason = bounded(problem, 600).replace(/[.\s]+$/, '') || 'it did not follow the required format';
  return (
    `Your previous answer was not valid: ${reason}. ` +
    'Answer again with only the JSON object: no prose and no markdown, every rubric criterion exactly once ' +
    "with its criterionId, and each score a number from 0 to that criterion's maxScore."
  );
}

// Models that ignore the structured-output request still tend to answer with a refusal sentence;
// naming it helps whoever reads the run's error.
const REFUSAL = /^(?:i['’]?m sorry|i am sorry|sorry\b|i apologi[sz]e|i can(?:not|['’]?t)\b|i won['’]?t\b|i(?: am|['’]m) (?:unable|not able)|as an ai\b|i must decline)/i;

const FENCED = /^```[ \t]*(?:json)?[ \t]*\r?\n([\s\S]*?)\r?\n[ \t]*```$/i;

function jsonTextOf(text: string): { ok: true; text: string } | { ok: false; problem: string } {
  const answer = text.replace(/^\uFEFF/, '').trim();
  if (answer === '') return fail('the answer was empty');
  if (answer.startsWith('{')) return { ok: true, text: answer };
  const fenced = FENCED.exec(answer);
  if (fenced) {
    const inner = fenced[1]!.trim();
    if (inner.includes('```')) return fail('the answer must hold one JSON object, not several code blocks');
    if (inner === '') return fail('the answer was empty');
    return { ok: true, text: inner };
  }
  if (answer.startsWith('[')) return fail('the answer must be a JSON object');
  if (REFUSAL.test(answer)) return fail('the answer was a refusal instead of the JSON object');
  return fail('the answer must be only a JSON object, without prose around it');
}

/** Cleaned, non-empty points, at most OUTPUT_LIMITS.points of them, each bounded. */
function points(values: string[]): string[] {
  return values
    .map((value) => bounded(value, OUTPUT_LIMITS.pointChars))
    .filter((value) => value !== '')
    .slice(0, OUTPUT_LIMITS.points);
}

/** Strips NUL and lone surrogates, trims, and cuts to `max` UTF-16 units (ending in "…") without splitting a pair. */
function bounded(value: string, max: number): string {
  const clean = cleanText(value);
  if (clean.length <= max) return clean;
  let cut = clean.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}…`;
}

function quoted(value: string): string {
  return JSON.stringify(bounded(value, 60));
}

function pathOf(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return 'answer';
  return path.map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`)).join('');
}

function fail(problem: string): { ok: false; problem: string } {
  return { ok: false, problem };
}
