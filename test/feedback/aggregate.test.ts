import { aggregate, type AggregationMethod, type Rubric, type RunForAggregation } from '../../src/feedback';
import { rubric, run } from './support';

// rubric: content (weight 2, max 5), style (weight 1, max 10); overallMax = 5 + 10 = 15.
// All expected numbers below are worked out by hand in the comments.

// Three runs: content 2, 3, 5; style 6, 6, 7; instance weights 1, 1, 2.
const three = [run('r1', { content: 2, style: 6 }), run('r2', { content: 3, style: 6 }), run('r3', { content: 5, style: 7 }, { weight: 2 })];
const loose = { quorum: 1, disagreementThreshold: 1 }; // no flags, to look at the numbers alone

function scoresOf(method: AggregationMethod, runs: RunForAggregation[] = three) {
  return aggregate(runs, rubric, { method, ...loose }).criteria.map((c) => c.score);
}

describe('combining the runs of a criterion', () => {
  test('mean', () => {
    // content (2 + 3 + 5) / 3 = 10/3 = 3.333… → 3.33; style (6 + 6 + 7) / 3 = 19/3 = 6.333… → 6.33
    expect(scoresOf('mean')).toEqual([3.33, 6.33]);
  });

  test('median, and the mean of the middle two for an even count', () => {
    // content sorted 2, 3, 5 → 3; style 6, 6, 7 → 6
    expect(scoresOf('median')).toEqual([3, 6]);
    // four runs: content 1, 2, 4, 5 → (2 + 4) / 2 = 3; style 2, 3, 8, 9 → (3 + 8) / 2 = 5.5
    const four = [run('a', { content: 1, style: 2 }), run('b', { content: 5, style: 9 }), run('c', { content: 2, style: 8 }), run('d', { content: 4, style: 3 })];
    expect(scoresOf('median', four)).toEqual([3, 5.5]);
  });

  test('trimmed mean drops one lowest and one highest from 3 or more runs', () => {
    // content 2, 3, 5 → drop 2 and 5 → 3; style 6, 6, 7 → drop one 6 and the 7 → 6
    expect(scoresOf('trimmed_mean')).toEqual([3, 6]);
    // content 2, 2, 2, 5 → drop one 2 and the 5 → (2 + 2) / 2 = 2 (only one of the tied lows goes)
    // style 1, 4, 4, 10 → drop 1 and 10 → 4
    const four = [run('a', { content: 2, style: 1 }), run('b', { content: 2, style: 4 }), run('c', { content: 2, style: 4 }), run('d', { content: 5, style: 10 })];
    expect(scoresOf('trimmed_mean', four)).toEqual([2, 4]);
  });

  test('trimmed mean is the plain mean with fewer than 3 runs', () => {
    // content (2 + 5) / 2 = 3.5; style (6 + 7) / 2 = 6.5
    expect(scoresOf('trimmed_mean', [three[0]!, three[2]!])).toEqual([3.5, 6.5]);
    expect(scoresOf('trimmed_mean', [three[1]!])).toEqual([3, 6]);
  });

  test('weighted by instance weight: Σ w·s / Σ w', () => {
    // content (1·2 + 1·3 + 2·5) / (1 + 1 + 2) = 15/4 = 3.75; style (6 + 6 + 2·7) / 4 = 26/4 = 6.5
    expect(scoresOf('weighted')).toEqual([3.75, 6.5]);
  });

  test('weighted with every weight 0 counts the runs equally', () => {
    const unweighted = three.map((r) => ({ ...r, weight: 0 }));
    expect(scoresOf('weighted', unweighted)).toEqual(scoresOf('mean'));
  });

  test('a zero-weight run adds nothing to the weighted score but still counts as a run', () => {
    // content (1·2 + 0·5) / 1 = 2
    const result = aggregate([run('r1', { content: 2, style: 6 }), run('r2', { content: 5, style: 6 }, { weight: 0 })], rubric, { method: 'weighted', ...loose });
    expect(result.criteria[0]).toMatchObject({ score: 2, successfulRuns: 2, spread: 3 });
  });
});

describe('quorum', () => {
  test('fewer successful runs than the quorum: score null, below_quorum, review needed, no overall score', () => {
    const result = aggregate(three.slice(0, 2), rubric, { method: 'mean', quorum: 3 });
    expect(result.criteria.map((c) => [c.score, c.successfulRuns, c.flags])).toEqual([
      [null, 2, ['below_quorum']],
      [null, 2, ['below_quorum']],
    ]);
    expect(result.overallScore).toBeNull();
    expect(result.overallMax).toBe(15);
    expect(result.needsReview).toBe(true);
    // The text is still there for the instructor to review.
    expect(result.representativeRunId).not.toBeNull();
    expect(result.criteria[0]!.comment).not.toBe('');
  });

  test('exactly the quorum is enough', () => {
    const result = aggregate(three, rubric, { method: 'mean', quorum: 3, disagreementThreshold: 1 });
    expect(result.criteria.every((c) => c.flags.length === 0 && c.score !== null)).toBe(true);
    expect(result.needsReview).toBe(false);
  });

  test('only the criterion short of runs is null when a run lacks it', () => {
    const partial = run('r4', { content: 3, style: 6 });
    partial.output.criteria.pop(); // no style
    const result = aggregate([three[0]!, partial], rubric, { method: 'mean', quorum: 2, disagreementThreshold: 1 });
    // content (2 + 3) / 2 = 2.5 from 2 runs; style from 1 run only
    expect(result.criteria[0]).toMatchObject({ score: 2.5, successfulRuns: 2, flags: [] });
    expect(result.criteria[1]).toMatchObject({ score: null, successfulRuns: 1, flags: ['below_quorum'] });
    expect(result.overallScore).toBeNull();
    expect(result.needsReview).toBe(true);
  });

  test('no runs at all: every criterion null and below quorum, no text, no representative', () => {
    for (const quorum of [0, 1, 2]) {
      const result = aggregate([], rubric, { method: 'median', quorum });
      expect(result).toEqual({
        criteria: ['content', 'style'].map((criterionId) => ({
          criterionId,
          score: null,
          successfulRuns: 0,
          spread: null,
          flags: ['below_quorum'],
          strengths: [],
          improvements: [],
          comment: '',
          sourceRunId: null,
        })),
        overallScore: null,
        overallMax: 15,
        summary: '',
        representativeRunId: null,
        needsReview: true,
      });
    }
  });
});

describe('disagreement', () => {
  // content max 5 with the default threshold 0.25 → flagged when spread > 0.25 × 5 = 1.25
  const pair = (high: number) => [run('r1', { content: 2, style: 6 }), run('r2', { content: high, style: 6 })];

  test('a spread equal to the threshold is not flagged', () => {
    // spread 3.25 − 2 = 1.25, not > 1.25
    const result = aggregate(pair(3.25), rubric, { method: 'mean', quorum: 1 });
    expect(result.criteria[0]).toMatchObject({ spread: 1.25, flags: [] });
    expect(result.needsReview).toBe(false);
  });

  test('a spread above the threshold flags high_disagreement and needs review, the score stays', () => {
    // spread 3.5 − 2 = 1.5 > 1.25; mean (2 + 3.5) / 2 = 2.75
    const result = aggregate(pair(3.5), rubric, { method: 'mean', quorum: 1 });
    expect(result.criteria[0]).toMatchObject({ score: 2.75, spread: 1.5, flags: ['high_disagreement'] });
    expect(result.criteria[1]).toMatchObject({ spread: 0, flags: [] });
    expect(result.needsReview).toBe(true);
  });

  test('the threshold is a fraction of each criterion’s own maxScore', () => {
    // style max 10, threshold 0.1 → 1; style 6 vs 7.5 → spread 1.5 > 1. content 2 vs 2.5 → 0.5 = 0.1 × 5, not flagged
    const runs = [run('r1', { content: 2, style: 6 }), run('r2', { content: 2.5, style: 7.5 })];
    const result = aggregate(runs, rubric, { method: 'mean', quorum: 1, disagreementThreshold: 0.1 });
    expect(result.criteria.map((c) => c.flags)).toEqual([[], ['high_disagreement']]);
  });

  test('floating-point noise does not flag a spread equal to the threshold', () => {
    // 0.4 − 0.1 is 0.30000000000000004 in binary, against 0.06 × 5 = 0.3
    const runs = [run('r1', { content: 0.1, style: 6 }), run('r2', { content: 0.4, style: 6 })];
    expect(aggregate(runs, rubric, { method: 'mean', quorum: 1, disagreementThreshold: 0.06 }).criteria[0]!.flags).toEqual([]);
    // 0.9 − 0 = 0.9, against 0.18 × 5 = 0.8999999999999999
    const wider = [run('r1', { content: 0, style: 6 }), run('r2', { content: 0.9, style: 6 })];
    expect(aggregate(wider, rubric, { method: 'mean', quorum: 1, disagreementThreshold: 0.18 }).criteria[0]!.flags).toEqual([]);
    // and just above it is flagged: 0.91 > 0.9
    const above = [run('r1', { content: 0, style: 6 }), run('r2', { content: 0.91, style: 6 })];
    expect(aggregate(above, rubric, { method: 'mean', quorum: 1, disagreementThreshold: 0.18 }).criteria[0]!.flags).toEqual(['high_disagreement']);
  });

  test('both flags can apply at once', () => {
    const result = aggregate(pair(5), rubric, { method: 'mean', quorum: 3 });
    expect(result.criteria[0]!.flags).toEqual(['below_quorum', 'high_disagreement']);
  });
});

describe('overall score', () => {
  test('is the rubric-weighted fraction of the marks on the scale of Σ maxScore', () => {
    // content 4/5 = 0.8 (weight 2), style 5/10 = 0.5 (weight 1)
    // overallMax = 15; overallScore = 15 × (2·0.8 + 1·0.5) / (2 + 1) = 15 × 2.1 / 3 = 10.5
    // (not the raw sum 4 + 5 = 9, which would ignore the weights)
    const result = aggregate([run('r1', { content: 4, style: 5 })], rubric, { method: 'mean', quorum: 1 });
    expect(result.overallMax).toBe(15);
    expect(result.overallScore).toBe(10.5);
  });

  test('for the three-run mean example', () => {
    // content 10/3, style 19/3: 15 × (2·(10/3)/5 + (19/3)/10) / 3 = 15 × (4/3 + 19/30) / 3
    //   = 15 × (59/30) / 3 = 59/6 = 9.8333… → 9.83
    expect(aggregate(three, rubric, { method: 'mean', ...loose }).overallScore).toBe(9.83);
  });

  test('full and zero marks give overallMax and 0', () => {
    expect(aggregate([run('r1', { content: 5, style: 10 })], rubric, { method: 'mean', quorum: 1 }).overallScore).toBe(15);
    expect(aggregate([run('r1', { content: 0, style: 0 })], rubric, { method: 'mean', quorum: 1 }).overallScore).toBe(0);
  });

  test('is computed from unrounded criterion scores and rounded only at the end', () => {
    // three criteria of max 1, weight 1; runs score 0, 0, 1 → each mean 1/3 (shown as 0.33)
    // overall = 3 × (1/3 + 1/3 + 1/3) / 3 = 1; from the rounded 0.33s it would wrongly be 0.99
    const thirds: Rubric = ['a', 'b', 'c'].map((id) => ({ id, name: id, description: id, weight: 1, maxScore: 1 }));
    const runs = [0, 0, 1].map((score, i) => ({
      runId: `r${i}`,
      instanceId: 'i',
      weight: 1,
      output: { criteria: ['a', 'b', 'c'].map((criterionId) => ({ criterionId, score, strengths: [], improvements: [], comment: 'c' })), summary: 's' },
    }));
    const result = aggregate(runs, thirds, { method: 'mean', quorum: 1, disagreementThreshold: 1 });
    expect(result.criteria.map((c) => c.score)).toEqual([0.33, 0.33, 0.33]);
    expect(result.overallScore).toBe(1);
  });

  test('a criterion of weight 0 does not move the overall score', () => {
    // content weight 0: overall = 15 × (0·(1/5) + 1·(5/10)) / 1 = 7.5
    const weighted: Rubric = [{ ...rubric[0]!, weight: 0 }, rubric[1]!];
    expect(aggregate([run('r1', { content: 1, style: 5 })], weighted, { method: 'mean', quorum: 1 }).overallScore).toBe(7.5);
  });
});

describe('the text of the aggregate', () => {
  test('comes from the run closest to the aggregate scores', () => {
    // mean centre: content 10/3, style 19/3. Squared normalised distances:
    //   r1: ((2 − 10/3)/5)² + ((6 − 19/3)/10)² = (4/15)² + (1/30)² = 0.0711 + 0.0011 = 0.0722
    //   r2: ((3 − 10/3)/5)² + ((6 − 19/3)/10)² = (1/15)² + (1/30)² = 0.0044 + 0.0011 = 0.0056  ← closest
    //   r3: ((5 − 10/3)/5)² + ((7 − 19/3)/10)² = (1/3)² + (1/15)² = 0.1111 + 0.0044 = 0.1156
    const result = aggregate(three, rubric, { method: 'mean', ...loose });
    expect(result.representativeRunId).toBe('r2');
    expect(result.summary).toBe('summary from r2');
    expect(result.criteria.map((c) => [c.comment, c.sourceRunId])).toEqual([
      ['content comment from r2', 'r2'],
      ['style comment from r2', 'r2'],
    ]);
  });

  test('the closest run depends on the method: weighted pulls towards the heavier instance', () => {
    // weighted centre: content 3.75, style 6.5
    //   r2: (0.75/5)² + (0.5/10)² = 0.0225 + 0.0025 = 0.025
    //   r3: (1.25/5)² + (0.5/10)² = 0.0625 + 0.0025 = 0.065; r1: (1.75/5)² + 0.0025 = 0.1250
    // median centre: content 3, style 6 → r2 scores exactly that (distance 0)
    expect(aggregate(three, rubric, { method: 'weighted', ...loose }).representativeRunId).toBe('r2');
    const skewed = [run('r1', { content: 1, style: 2 }), run('r2', { content: 3, style: 6 }), run('r3', { content: 5, style: 8 }, { weight: 6 })];
    // weighted content (1 + 3 + 30)/8 = 4.25, style (2 + 6 + 48)/8 = 7 → r3 at (0.75/5)² + (1/10)² = 0.0325 beats r2 at (1.25/5)² + (1/10)² = 0.0725
    expect(aggregate(skewed, rubric, { method: 'weighted', ...loose }).representativeRunId).toBe('r3');
    expect(aggregate(skewed, rubric, { method: 'median', ...loose }).representativeRunId).toBe('r2');
  });

  test('closeness is the sum of squared differences of normalised scores (score / maxScore)', () => {
    // median centre: content 3 (of 5), style 6 (of 10)
    //   r1 content 3, style 4.5: 0² + (1.5/10)² = 0.0225 ← closest (raw points would say r2: 1.5 > 1)
    //   r2 content 4, style 6:   (1/5)² + 0² = 0.04
    //   r3 content 2, style 8:   (1/5)² + (2/10)² = 0.08
    const byScale = [run('r1', { content: 3, style: 4.5 }), run('r2', { content: 4, style: 6 }), run('r3', { content: 2, style: 8 })];
    expect(aggregate(byScale, rubric, { method: 'median', ...loose }).representativeRunId).toBe('r1');
    // median centre: content 3, style 6
    //   r1 content 4.5, style 6: (1.5/5)² = 0.09               (unsquared: 0.3)
    //   r2 content 2, style 8:   (1/5)² + (2/10)² = 0.08 ← closest (unsquared: 0.4)
    //   r3 content 3, style 0:   (6/10)² = 0.36
    const bySquares = [run('r1', { content: 4.5, style: 6 }), run('r2', { content: 2, style: 8 }), run('r3', { content: 3, style: 0 })];
    expect(aggregate(bySquares, rubric, { method: 'median', ...loose }).representativeRunId).toBe('r2');
  });

  test('a tie goes to the smaller runId, whatever the input order', () => {
    // content 2 and 4 around the mean 3, style equal: both at distance (1/5)² = 0.04
    const tied = [run('run-b', { content: 4, style: 6 }), run('run-a', { content: 2, style: 6 })];
    const result = aggregate(tied, rubric, { method: 'mean', ...loose });
    expect(result.representativeRunId).toBe('run-a');
    expect(aggregate([...tied].reverse(), rubric, { method: 'mean', ...loose })).toEqual(result);
  });

  test('strengths and improvements: the representative run’s first, then de-duplicated points from the others', () => {
    // distance order (see above): r2, then r1, then r3
    const runs = [
      run('r1', { content: 2, style: 6 }, { contentStrengths: ['clear   thesis.', 'Strong conclusion'], contentImprovements: ['Cite your sources'] }),
      run('r2', { content: 3, style: 6 }, { contentStrengths: ['Clear thesis', 'Good examples'], contentImprovements: ['cite your sources!'] }),
      run('r3', { content: 5, style: 7 }, { contentStrengths: ['CLEAR THESIS', '- good examples', 'Varied sentences'], contentImprovements: ['Ｃｉｔｅ your sources', 'Vary paragraph length'] }),
    ];
    const content = aggregate(runs, rubric, { method: 'mean', ...loose }).criteria[0]!;
    expect(content.strengths).toEqual(['Clear thesis', 'Good examples', 'Strong conclusion', 'Varied sentences']);
    expect(content.improvements).toEqual(['cite your sources!', 'Vary paragraph length']);
  });

  test('at most 5 strengths and 5 improvements per criterion', () => {
    const runs = ['r1', 'r2', 'r3'].map((id) =>
      run(id, { content: 3, style: 6 }, { contentStrengths: [1, 2, 3].map((n) => `${id} strength ${n}`), contentImprovements: [1, 2, 3].map((n) => `${id} fix ${n}`) }),
    );
    const content = aggregate(runs, rubric, { method: 'mean', ...loose }).criteria[0]!;
    expect(content.strengths).toEqual(['r1 strength 1', 'r1 strength 2', 'r1 strength 3', 'r2 strength 1', 'r2 strength 2']);
    expect(content.improvements).toHaveLength(5);
  });

  test('a criterion the representative run lacks takes its comment from the run closest on that criterion', () => {
    // five criteria a–e, max 10, weight 1. r1 scores 0 everywhere, r3 10 everywhere, r2 5 on a–d and lacks e.
    // mean centres: a–d (0 + 5 + 10)/3 = 5, e (0 + 10)/2 = 5.
    // distances: r1 = 5 × (5/10)² = 1.25; r3 = 1.25; r2 = 4 × 0 + 1 (a missing criterion counts as 1) = 1 ← representative
    // e: r1 and r3 are both 5 away from 5 → the smaller runId, r1
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const five: Rubric = ids.map((id) => ({ id, name: id, description: id, weight: 1, maxScore: 10 }));
    const make = (runId: string, score: number, skip?: string): RunForAggregation => ({
      runId,
      instanceId: 'i',
      weight: 1,
      output: {
        criteria: ids.filter((id) => id !== skip).map((criterionId) => ({ criterionId, score, strengths: [], improvements: [], comment: `${criterionId} from ${runId}` })),
        summary: `summary from ${runId}`,
      },
    });
    const result = aggregate([make('r3', 10), make('r2', 5, 'e'), make('r1', 0)], five, { method: 'mean', quorum: 1, disagreementThreshold: 1 });
    expect(result.representativeRunId).toBe('r2');
    expect(result.summary).toBe('summary from r2');
    expect(result.criteria[0]).toMatchObject({ comment: 'a from r2', sourceRunId: 'r2' });
    expect(result.criteria[4]).toMatchObject({ score: 5, successfulRuns: 2, comment: 'e from r1', sourceRunId: 'r1' });
  });
});

describe('aggregate as a function', () => {
  test('is pure: the input is not changed and the same input gives the same result', () => {
    const before = JSON.stringify(three);
    const first = aggregate(three, rubric, { method: 'trimmed_mean', quorum: 2 });
    expect(JSON.stringify(three)).toBe(before);
    expect(aggregate([three[2]!, three[0]!, three[1]!], rubric, { method: 'trimmed_mean', quorum: 2 })).toEqual(first);
  });

  test('criteria come in rubric order', () => {
    const result = aggregate(three, rubric, { method: 'mean', quorum: 1 });
    expect(result.criteria.map((c) => c.criterionId)).toEqual(['content', 'style']);
  });

  test.each([
    ['an unknown method', { method: 'mode' as AggregationMethod, quorum: 1 }, three],
    ['a negative quorum', { method: 'mean' as const, quorum: -1 }, three],
    ['a fractional quorum', { method: 'mean' as const, quorum: 1.5 }, three],
    ['a NaN threshold', { method: 'mean' as const, quorum: 1, disagreementThreshold: Number.NaN }, three],
    ['a negative weight', { method: 'weighted' as const, quorum: 1 }, [{ ...three[0]!, weight: -1 }]],
    ['a duplicate runId', { method: 'mean' as const, quorum: 1 }, [three[0]!, three[0]!]],
  ])('%s is a programming error (RangeError)', (_name, opts, runs) => {
    expect(() => aggregate(runs, rubric, opts)).toThrow(RangeError);
  });
});
