import {
  assertUsableRubric,
  type Aggregate,
  type AggregationMethod,
  type CriterionAggregate,
  type CriterionFeedback,
  type CriterionFlag,
  type Rubric,
  type RubricCriterion,
  type RunForAggregation,
} from './types';

// Combines the successful runs of one submission into the result the instructor reviews.
//
// Rules (all computed on unrounded numbers; scores are rounded to 2 decimals only in the result):
// - Per criterion, the runs' scores combine by
//   mean;
//   median (the mean of the two middle scores when the count is even);
//   trimmed_mean: with 3 or more runs, drop exactly one lowest and one highest score and take the
//     mean of the rest; with 1 or 2 runs, the plain mean;
//   weighted: Σ(weight·score) / Σ weight over the instances' weights; if every weight is 0 the runs
//     count equally (the plain mean).
// - Quorum: a criterion with fewer runs than max(quorum, 1) gets score null and 'below_quorum'.
// - Spread = highest − lowest run score; spread > threshold × maxScore flags 'high_disagreement'
//   (equal to the threshold is not flagged).
// - Overall: overallMax = Σ maxScore, and
//     overallScore = overallMax × Σ(weight_i × score_i / maxScore_i) / Σ weight_i,
//   the rubric-weighted fraction of the marks, expressed on the scale of the summed maxima. It is
//   null when any criterion's score is null.
// - Text: the representative run is the one whose normalised scores (score / maxScore) are closest,
//   by sum of squared differences, to the combined scores (combined even below quorum, so there is
//   text to review). Its summary and comments are used; strengths and improvements are its own
//   followed by the other runs' (closest run first), de-duplicated, at most AGGREGATE_POINTS each.
// - Determinism: runs are taken in runId order and every tie goes to the smaller runId.

export interface AggregationOptions {
  method: AggregationMethod;
  quorum: number;
  /** A fraction of each criterion's maxScore; 0.25 when unset. */
  disagreementThreshold?: number;
}

export const DEFAULT_DISAGREEMENT_THRESHOLD = 0.25;
/** Most strengths, and most improvements, kept per criterion in the aggregate. */
export const AGGREGATE_POINTS = 5;

const METHODS: readonly AggregationMethod[] = ['mean', 'median', 'trimmed_mean', 'weighted'];
// Absorbs floating-point noise in comparisons (a spread of 0.30000000000000004 equals 0.3).
const EPSILON = 1e-9;

interface Evidence {
  runId: string;
  weight: number;
  feedback: CriterionFeedback;
}

interface CriterionWork {
  criterion: RubricCriterion;
  evidence: Evidence[];
  /** The combined score before quorum and rounding; null only without any run. */
  centre: number | null;
}

/** The aggregate of the given successful runs; pure and deterministic. Throws RangeError on bad options, weights or runIds. */
export function aggregate(runs: RunForAggregation[], rubric: Rubric, opts: AggregationOptions): Aggregate {
  assertUsableRubric(rubric);
  const threshold = checkedOptions(opts);
  const ordered = checkedRuns(runs);

  const work: CriterionWork[] = rubric.map((criterion) => {
    const evidence = ordered.flatMap((run): Evidence[] => {
      const feedback = run.output.criteria.find((item) => item.criterionId === criterion.id);
      // parseRunOutput guarantees a valid score; this only guards against a rubric edited since.
      if (!feedback || !(feedback.score >= 0 && feedback.score <= criterion.maxScore)) return [];
      return [{ runId: run.runId, weight: run.weight, feedback }];
    });
    return { criterion, evidence, centre: evidence.length > 0 ? combine(opts.method, evidence) : null };
  });

  const ranked = rankRuns(ordered, work);
  const representative = ranked[0] ?? null;
  const criteria = work.map((item) => criterionAggregate(item, ranked, opts.quorum, threshold));

  const overallMax = sum(rubric.map((criterion) => criterion.maxScore));
  const unrounded = work.map((item, index) => (criteria[index]!.score === null ? null : item.centre));
  const overallScore = unrounded.every((score): score is number => score !== null)
    ? (overallMax * sum(rubric.map((c, i) => (c.weight * unrounded[i]!) / c.maxScore))) / sum(rubric.map((c) => c.weight))
    : null;

  return {
    criteria,
    overallScore: overallScore === null ? null : round2(overallScore),
    overallMax: round2(overallMax),
    summary: representative?.summary ?? '',
    representativeRunId: representative?.runId ?? null,
    needsReview: criteria.some((item) => item.flags.length > 0),
  };
}

function criterionAggregate(item: CriterionWork, ranked: RankedRun[], quorum: number, threshold: number): CriterionAggregate {
  const { criterion, evidence, centre } = item;
  const scores = evidence.map((e) => e.feedback.score);
  const spread = scores.length > 0 ? Math.max(...scores) - Math.min(...scores) : null;
  const flags: CriterionFlag[] = [];
  if (evidence.length < Math.max(quorum, 1)) flags.push('below_quorum');
  if (spread !== null && spread > threshold * criterion.maxScore + EPSILON) flags.push('high_disagreement');

  const source = centre === null ? null : sourceOf(evidence, ranked, centre);
  // The source run's points first, then the others' in order of closeness to the aggregate.
  const contributors = [
    ...(source ? [source] : []),
    ...ranked.flatMap((run) => evidence.filter((e) => e.runId === run.runId && e !== source)),
  ];
  return {
    criterionId: criterion.id,
    score: centre === null || flags.includes('below_quorum') ? null : round2(centre),
    successfulRuns: evidence.length,
    spread: spread === null ? null : round2(spread),
    flags,
    strengths: distinctPoints(contributors.map((e) => e.feedback.strengths)),
    improvements: distinctPoints(contributors.map((e) => e.feedback.improvements)),
    comment: source?.feedback.comment ?? '',
    sourceRunId: source?.runId ?? null,
  };
}

/** The representative run when it scored this criterion; otherwise the run whose score here is closest. */
function sourceOf(evidence: Evidence[], ranked: RankedRun[], centre: number): Evidence | null {
  const representative = ranked[0];
  const own = representative && evidence.find((e) => e.runId === representative.runId);
  if (own) return own;
  let best: Evidence | null = null;
  for (const candidate of evidence) {
    // evidence is in runId order, so keeping the first of equals breaks ties by runId.
    if (!best || Math.abs(candidate.feedback.score - centre) < Math.abs(best.feedback.score - centre) - EPSILON) best = candidate;
  }
  return best;
}

interface RankedRun {
  runId: string;
  summary: string;
  distance: number;
}

/** Runs from closest to the combined scores to farthest; a criterion a run lacks counts as the largest gap (1). */
function rankRuns(ordered: RunForAggregation[], work: CriterionWork[]): RankedRun[] {
  const ranked = ordered.map((run): RankedRun => {
    let distance = 0;
    for (const { criterion, evidence, centre } of work) {
      if (centre === null) continue;
      const own = evidence.find((e) => e.runId === run.runId);
      distance += own ? ((own.feedback.score - centre) / criterion.maxScore) ** 2 : 1;
    }
    return { runId: run.runId, summary: run.output.summary, distance };
  });
  // Distances are compared at 1e-9 so floating-point noise cannot decide a tie; sort is stable and
  // `ordered` is in runId order, so real ties go to the smaller runId.
  const key = (run: RankedRun) => Math.round(run.distance / EPSILON);
  return ranked.sort((a, b) => key(a) - key(b));
}

function combine(method: AggregationMethod, evidence: Evidence[]): number {
  const scores = evidence.map((e) => e.feedback.score);
  switch (method) {
    case 'mean':
      return mean(scores);
    case 'median': {
      const sorted = [...scores].sort((a, b) => a - b);
      const middle = Math.floor(sorted.length / 2);
      return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
    }
    case 'trimmed_mean': {
      if (scores.length < 3) return mean(scores);
      const sorted = [...scores].sort((a, b) => a - b);
      return mean(sorted.slice(1, -1));
    }
    case 'weighted': {
      const totalWeight = sum(evidence.map((e) => e.weight));
      if (totalWeight === 0) return mean(scores);
      return sum(evidence.map((e) => e.weight * e.feedback.score)) / totalWeight;
    }
  }
}

/** Points in order, skipping any whose normalised form was already kept, at most AGGREGATE_POINTS. */
function distinctPoints(lists: string[][]): string[] {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const point of lists.flat()) {
    const key = normalisedPoint(point);
    if (key === '' || seen.has(key)) continue;
    seen.add(key);
    kept.push(point);
    if (kept.length === AGGREGATE_POINTS) break;
  }
  return kept;
}

// Case, compatibility forms, spacing, list bullets and closing punctuation do not make a point new.
function normalisedPoint(point: string): string {
  return point
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/^[\s\-*•·]+/, '')
    .replace(/[\s.!?,;:…]+$/, '');
}

function checkedOptions(opts: AggregationOptions): number {
  if (!METHODS.includes(opts.method)) throw new RangeError(`Unknown aggregation method ${JSON.stringify(opts.method)}.`);
  if (!Number.isInteger(opts.quorum) || opts.quorum < 0) throw new RangeError('quorum must be a whole number of 0 or more.');
  const threshold = opts.disagreementThreshold ?? DEFAULT_DISAGREEMENT_THRESHOLD;
  if (!Number.isFinite(threshold) || threshold < 0) throw new RangeError('disagreementThreshold must be a number of 0 or more.');
  return threshold;
}

function checkedRuns(runs: RunForAggregation[]): RunForAggregation[] {
  const ids = new Set<string>();
  for (const run of runs) {
    if (ids.has(run.runId)) throw new RangeError(`Run ${JSON.stringify(run.runId)} appears twice.`);
    ids.add(run.runId);
    if (!Number.isFinite(run.weight) || run.weight < 0) throw new RangeError(`Run ${JSON.stringify(run.runId)} has a weight below 0 or not a number.`);
  }
  return [...runs].sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function mean(values: number[]): number {
  return sum(values) / values.length;
}

// The tiny nudge makes 1.005 (stored as 1.00499…) round up, as written; `+ 0` turns -0 into 0.
function round2(value: number): number {
  return Math.round(value * 100 + EPSILON) / 100 + 0;
}
