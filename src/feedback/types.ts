// The shapes the feedback pipeline passes around: the instructor's rubric, one model run's validated
// answer, and the aggregate the instructor reviews. Plus the one check that a rubric is usable, which
// every function here relies on.

export interface RubricLevel {
  score: number;
  description: string;
}

export interface RubricCriterion {
  id: string;
  name: string;
  description: string;
  weight: number;
  maxScore: number;
  levels?: RubricLevel[];
}

export type Rubric = RubricCriterion[];

export interface CriterionFeedback {
  criterionId: string;
  score: number;
  strengths: string[];
  improvements: string[];
  comment: string;
}

export interface RunOutput {
  criteria: CriterionFeedback[];
  summary: string;
}

export type AggregationMethod = 'mean' | 'median' | 'trimmed_mean' | 'weighted';

/** A successful run only: failed and invalid runs never reach aggregation. */
export interface RunForAggregation {
  runId: string;
  instanceId: string;
  weight: number;
  output: RunOutput;
}

export type CriterionFlag = 'below_quorum' | 'high_disagreement';

export interface CriterionAggregate {
  criterionId: string;
  score: number | null;
  successfulRuns: number;
  spread: number | null;
  flags: CriterionFlag[];
  strengths: string[];
  improvements: string[];
  comment: string;
  sourceRunId: string | null;
}

export interface Aggregate {
  criteria: CriterionAggregate[];
  overallScore: number | null;
  overallMax: number;
  summary: string;
  representativeRunId: string | null;
  needsReview: boolean;
}

/**
 * Throws a RangeError unless the rubric has at least one criterion, unique non-empty ids, every
 * maxScore finite and > 0, every weight finite and >= 0, and a positive total weight. A stored
 * rubric that fails this is a bug upstream, not something a model run can fix.
 */
export function assertUsableRubric(rubric: Rubric): void {
  if (!Array.isArray(rubric) || rubric.length === 0) throw new RangeError('The rubric has no criteria.');
  const ids = new Set<string>();
  let totalWeight = 0;
  for (const criterion of rubric) {
    if (typeof criterion.id !== 'string' || criterion.id.length === 0) throw new RangeError('A rubric criterion has no id.');
    if (ids.has(criterion.id)) throw new RangeError(`The rubric repeats the criterion id ${JSON.stringify(criterion.id)}.`);
    ids.add(criterion.id);
    if (!Number.isFinite(criterion.maxScore) || criterion.maxScore <= 0) {
      throw new RangeError(`Criterion ${JSON.stringify(criterion.id)} needs a maxScore above 0.`);
    }
    if (!Number.isFinite(criterion.weight) || criterion.weight < 0) {
      throw new RangeError(`Criterion ${JSON.stringify(criterion.id)} needs a weight of 0 or more.`);
    }
    totalWeight += criterion.weight;
  }
  if (totalWeight <= 0) throw new RangeError('The rubric weights add up to 0.');
}
