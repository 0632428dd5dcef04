import type { CriterionSpec } from './criteria';
import { hash32, prng, unit } from './random';

// Plausible rubric feedback. Scores depend on the submission (a stable "quality" from its hash and a
// little from its length), on the criterion, and a little on the request number, so repeated requests
// differ slightly but a whole run replays exactly under the same seed.

export interface CriterionFeedback {
  criterionId: string;
  score: number;
  strengths: string[];
  improvements: string[];
  comment: string;
}

export interface Feedback {
  criteria: CriterionFeedback[];
  summary: string;
}

const STRENGTHS = [
  'The {t} is clearly addressed, and the main point comes across on a first reading.',
  'You support your {t} with relevant detail rather than general statements.',
  'Your handling of the {t} shows a good grasp of what the task asks for.',
  'The {t} is organised logically, which makes your reasoning easy to follow.',
  'You keep a confident, consistent voice throughout the {t}.',
  'You make thoughtful choices in the {t} that go beyond the minimum required.',
  'Your {t} connects well with the rest of the submission.',
  'The examples you chose for the {t} are apt and well explained.',
];

const IMPROVEMENTS = [
  'Make the {t} more specific by adding a concrete example or piece of evidence.',
  'Explain more explicitly how your {t} connects back to your main argument.',
  'Tighten the {t}: a few sentences repeat ideas you have already made.',
  'Compare your {t} with the descriptors for the top band and address any gaps.',
  'Consider a limitation or counter-argument related to the {t} and respond to it.',
  'Proofread the part on the {t}; small errors distract from otherwise strong points.',
  'Add a short transition so the reader sees why the {t} comes where it does.',
  'Support the key claim in your {t} with a source or a worked example.',
];

export interface FeedbackInput {
  criteria: CriterionSpec[];
  submission: string;
  seed: number;
  requestNumber: number;
}

export function buildFeedback({ criteria, submission, seed, requestNumber }: FeedbackInput): Feedback {
  const quality = submissionQuality(submission, seed);
  const results = criteria.map((criterion) => {
    const rand = prng(hash32(`${seed}\u0000${requestNumber}\u0000${criterion.id}\u0000${submission}`));
    const criterionBias = (unit(seed, 'criterion', criterion.id, submission) - 0.5) * 0.3;
    const noise = (rand() - 0.5) * 0.16;
    const fraction = clamp(quality + criterionBias + noise, 0, 1);
    const score = scoreFor(fraction, criterion.maxScore);
    const t = lowerFirst(criterion.title);
    return {
      spec: criterion,
      fraction: criterion.maxScore > 0 ? score / criterion.maxScore : 0,
      feedback: {
        criterionId: criterion.id,
        score,
        strengths: pickTwo(STRENGTHS, rand).map((s) => fill(s, t)),
        improvements: pickTwo(IMPROVEMENTS, rand).map((s) => fill(s, t)),
        comment: commentFor(fraction, t),
      },
    };
  });
  return { criteria: results.map((r) => r.feedback), summary: summaryOf(results) };
}

/** 0.45..0.9 from the submission's hash, nudged down for very short work. */
function submissionQuality(submission: string, seed: number): number {
  const base = 0.45 + unit(seed, 'quality', submission) * 0.45;
  const words = submission.split(/\s+/).filter(Boolean).length;
  const shortPenalty = words < 30 ? 0.2 * (1 - words / 30) : 0;
  return base - shortPenalty;
}

/** Whole points for whole-number maxima, halves otherwise; always within 0..max. */
function scoreFor(fraction: number, max: number): number {
  if (!(max > 0)) return 0;
  const step = Number.isInteger(max) ? 1 : 0.5;
  return clamp(Math.round((fraction * max) / step) * step, 0, max);
}

function commentFor(fraction: number, title: string): string {
  if (fraction >= 0.85) return `Excellent work on the ${title}; this meets the top band, with only minor polish left to do.`;
  if (fraction >= 0.65) return `Solid work on the ${title}; a little more depth and precision would move it into the top band.`;
  if (fraction >= 0.4) return `The ${title} is partly developed; the improvements above are the quickest way to strengthen it.`;
  return `The ${title} needs substantial revision; start with the first suggestion above and build from there.`;
}

function summaryOf(results: Array<{ spec: CriterionSpec; fraction: number; feedback: CriterionFeedback }>): string {
  const total = round2(results.reduce((sum, r) => sum + r.feedback.score, 0));
  const max = round2(results.reduce((sum, r) => sum + r.spec.maxScore, 0));
  const pct = max > 0 ? Math.round((total / max) * 100) : 0;
  const opening = `Overall this submission scores ${total} out of ${max} (${pct}%).`;
  if (results.length === 1) {
    const only = results[0]!;
    return `${opening} The most valuable next step: ${lowerFirst(only.feedback.improvements[0] ?? 'keep revising.')}`;
  }
  const sorted = [...results].sort((a, b) => b.fraction - a.fraction);
  const best = sorted[0]!;
  const weakest = sorted[sorted.length - 1]!;
  return `${opening} Its strongest area is the ${lowerFirst(best.spec.title)}; the most valuable next step is to work on the ${lowerFirst(weakest.spec.title)}.`;
}

function pickTwo(pool: string[], rand: () => number): [string, string] {
  const first = Math.floor(rand() * pool.length);
  const offset = 1 + Math.floor(rand() * (pool.length - 1));
  return [pool[first]!, pool[(first + offset) % pool.length]!];
}

function fill(template: string, title: string): string {
  return template.replaceAll('{t}', title);
}

function lowerFirst(s: string): string {
  return s.length > 1 && s[1] === s[1]!.toLowerCase() ? s[0]!.toLowerCase() + s.slice(1) : s;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** What `[[mock:invalid-json]]` returns: friendly prose that is not JSON. */
export function proseFeedback(criteria: CriterionSpec[]): string {
  const names = criteria.map((c) => c.title).join(', ');
  return (
    `Thanks for sharing this work! Overall it is a promising draft. Looking at ${names}, ` +
    'the main ideas come through, but several points would benefit from more specific evidence. ' +
    'I would suggest revising the weaker sections first and then proofreading the whole piece.'
  );
}
