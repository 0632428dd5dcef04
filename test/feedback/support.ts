import type { CriterionFeedback, Rubric, RunForAggregation } from '../../src/feedback';

// Shared fixtures for the feedback tests: a two-criterion rubric with different weights and maxima.

export const rubric: Rubric = [
  {
    id: 'content',
    name: 'Content and argument',
    description: 'A clear thesis supported by relevant evidence.',
    weight: 2,
    maxScore: 5,
    levels: [
      { score: 5, description: 'Compelling thesis, every claim supported.' },
      { score: 3, description: 'Thesis present, support uneven.' },
      { score: 1, description: 'No discernible thesis.' },
    ],
  },
  {
    id: 'style',
    name: 'Style and mechanics',
    description: 'Readable prose with few errors.',
    weight: 1,
    maxScore: 10,
  },
];

/** A valid model answer for `rubric`, as the model would send it. */
export function answer(overrides: { content?: Partial<CriterionFeedback>; style?: Partial<CriterionFeedback>; summary?: string } = {}) {
  return {
    criteria: [
      { criterionId: 'content', score: 4, strengths: ['Clear thesis'], improvements: ['Cite sources'], comment: 'Solid argument.', ...overrides.content },
      { criterionId: 'style', score: 7, strengths: ['Varied sentences'], improvements: ['Fix comma splices'], comment: 'Mostly clean.', ...overrides.style },
    ],
    summary: overrides.summary ?? 'A good draft.',
  };
}

/** A successful run scoring content and style as given, with text that names the run. */
export function run(
  runId: string,
  scores: { content: number; style: number },
  extra: { weight?: number; contentStrengths?: string[]; contentImprovements?: string[] } = {},
): RunForAggregation {
  return {
    runId,
    instanceId: `instance-of-${runId}`,
    weight: extra.weight ?? 1,
    output: {
      criteria: [
        {
          criterionId: 'content',
          score: scores.content,
          strengths: extra.contentStrengths ?? [],
          improvements: extra.contentImprovements ?? [],
          comment: `content comment from ${runId}`,
        },
        { criterionId: 'style', score: scores.style, strengths: [], improvements: [], comment: `style comment from ${runId}` },
      ],
      summary: `summary from ${runId}`,
    },
  };
}
