import { OUTPUT_LIMITS, parseRunOutput, repairPrompt } from '../../src/feedback';
import { answer, rubric } from './support';

const json = (value: unknown) => JSON.stringify(value);

function problemOf(text: string): string {
  const result = parseRunOutput(text, rubric);
  if (result.ok) throw new Error(`expected a rejection, got ${json(result.output)}`);
  return result.problem;
}

function outputOf(text: string) {
  const result = parseRunOutput(text, rubric);
  if (!result.ok) throw new Error(`expected success, got: ${result.problem}`);
  return result.output;
}

describe('accepted answers', () => {
  test('a plain JSON object gives the run output in rubric order', () => {
    const reversed = answer();
    reversed.criteria.reverse();
    expect(outputOf(json(reversed))).toEqual({
      criteria: [
        { criterionId: 'content', score: 4, strengths: ['Clear thesis'], improvements: ['Cite sources'], comment: 'Solid argument.' },
        { criterionId: 'style', score: 7, strengths: ['Varied sentences'], improvements: ['Fix comma splices'], comment: 'Mostly clean.' },
      ],
      summary: 'A good draft.',
    });
  });

  test('JSON in one markdown code fence, with or without the json tag', () => {
    expect(outputOf('```json\n' + json(answer()) + '\n```').summary).toBe('A good draft.');
    expect(outputOf('  ```\n' + JSON.stringify(answer(), null, 2) + '\n```\n').summary).toBe('A good draft.');
  });

  test('scores on the bounds (0 and maxScore) and fractional scores are kept as given', () => {
    const output = outputOf(json(answer({ content: { score: 0 }, style: { score: 10 } })));
    expect(output.criteria.map((c) => c.score)).toEqual([0, 10]);
    expect(outputOf(json(answer({ content: { score: 3.5 } }))).criteria[0]!.score).toBe(3.5);
  });

  test('unknown extra keys are dropped', () => {
    const extra = { ...answer(), reasoning: 'hidden chain of thought' };
    extra.criteria[0] = { ...extra.criteria[0]!, confidence: 0.9 } as never;
    const output = outputOf(json(extra));
    expect(output).not.toHaveProperty('reasoning');
    expect(output.criteria[0]).not.toHaveProperty('confidence');
  });

  test('emoji, CJK, an RTL override and combining marks round-trip exactly', () => {
    const comment = 'Great work 👩🏽‍💻🎉 — 論文の構成が良い. \u202Eevil\u202C שלום e\u0301 n\u0303 Z\u0351\u0359';
    const output = outputOf(json(answer({ content: { comment, strengths: ['中文 ✓ e\u0301'] }, summary: '🙂\u202Dsummary' })));
    expect(output.criteria[0]!.comment).toBe(comment);
    expect(output.criteria[0]!.strengths).toEqual(['中文 ✓ e\u0301']);
    expect(output.summary).toBe('🙂\u202Dsummary');
  });

  test('NUL is stripped and a lone surrogate replaced, so PostgreSQL can store the text', () => {
    const output = outputOf(json(answer({ content: { comment: 'bad\u0000byte', strengths: ['half \uD83D pair'] } })));
    expect(output.criteria[0]!.comment).toBe('badbyte');
    expect(output.criteria[0]!.strengths).toEqual(['half \uFFFD pair']);
  });

  test('text is trimmed and bounded: comments, summary, number and length of points', () => {
    const longComment = 'x'.repeat(OUTPUT_LIMITS.commentChars + 50);
    const manyPoints = Array.from({ length: 15 }, (_, i) => `  point ${i}  `);
    const output = outputOf(
      json(answer({ content: { comment: longComment, strengths: manyPoints, improvements: ['', '   ', 'y'.repeat(900)] }, summary: 's'.repeat(9000) })),
    );
    const content = output.criteria[0]!;
    expect(content.comment).toHaveLength(OUTPUT_LIMITS.commentChars);
    expect(content.comment.endsWith('…')).toBe(true);
    expect(content.strengths).toHaveLength(OUTPUT_LIMITS.points);
    expect(content.strengths[0]).toBe('point 0');
    expect(content.improvements).toEqual([`${'y'.repeat(OUTPUT_LIMITS.pointChars - 1)}…`]);
    expect(output.summary).toHaveLength(OUTPUT_LIMITS.summaryChars);
  });

  test('cutting a long comment never splits an emoji into a lone surrogate', () => {
    const comment = 'a'.repeat(OUTPUT_LIMITS.commentChars - 2) + '😀'.repeat(10);
    const cut = outputOf(json(answer({ content: { comment } }))).criteria[0]!.comment;
    expect(cut).toBe(`${'a'.repeat(OUTPUT_LIMITS.commentChars - 2)}…`);
    expect(cut.isWellFormed()).toBe(true);
  });
});

describe('rejected answers (never a guessed or clamped score)', () => {
  test.each([
    ['an empty answer', '', /empty/],
    ['only whitespace', '  \n\t ', /empty/],
    ['an empty code fence', '```json\n\n```', /empty/],
    ['prose', 'The essay is good. Content: 4/5, style 7/10.', /only a JSON object/],
    ['prose around a fenced object', 'Here you go:\n```json\n' + json(answer()) + '\n```', /only a JSON object/],
    ['two fenced objects', '```json\n' + json(answer()) + '\n```\n```json\n' + json(answer()) + '\n```', /one JSON object/],
    ['a refusal', "I'm sorry, I can't help with that.", /refusal/],
    ['a refusal with a curly apostrophe', 'I can’t assist with grading this.', /refusal/],
    ['truncated JSON', json(answer()).slice(0, 80), /not valid JSON/],
    ['JSON followed by prose', json(answer()) + '\nHope this helps!', /not valid JSON/],
    ['a JSON array', json([answer()]), /JSON object/],
  ])('%s', (_name, text, expected) => {
    expect(problemOf(text)).toMatch(expected);
  });

  test('the wrong schema names the fields that are wrong', () => {
    expect(problemOf(json({ feedback: 'great', score: 9 }))).toBe(
      'criteria: Invalid input: expected array, received undefined; summary: Invalid input: expected string, received undefined',
    );
    const noComment = answer();
    delete (noComment.criteria[1] as Partial<(typeof noComment.criteria)[number]>).comment;
    expect(problemOf(json(noComment))).toMatch(/^criteria\[1\]\.comment: .*expected string/);
    expect(problemOf(json(answer({ content: { strengths: 'Clear thesis' as never } })))).toMatch(/^criteria\[0\]\.strengths:/);
  });

  test('a missing criterion', () => {
    const missing = answer();
    missing.criteria.pop();
    expect(problemOf(json(missing))).toBe('criterion "style" is missing');
  });

  test('a duplicate criterion', () => {
    const duplicated = answer();
    duplicated.criteria.push({ ...duplicated.criteria[0]! });
    expect(problemOf(json(duplicated))).toBe('criterion "content" appears more than once');
  });

  test('an extra, unknown criterion id', () => {
    const extra = answer();
    extra.criteria.push({ ...extra.criteria[0]!, criterionId: 'originality' });
    expect(problemOf(json(extra))).toBe('unknown criterionId "originality"');
  });

  test('a criterion id that differs only in case is unknown, and the real one then missing', () => {
    expect(problemOf(json(answer({ style: { criterionId: 'Style' } })))).toBe('unknown criterionId "Style"; criterion "style" is missing');
  });

  test.each([
    ['-1', -1, 'score for "content" must be from 0 to 5 (got -1)'],
    ['maxScore + 0.5', 5.5, 'score for "content" must be from 0 to 5 (got 5.5)'],
  ])('a score of %s is out of range', (_name, score, problem) => {
    expect(problemOf(json(answer({ content: { score } })))).toBe(problem);
  });

  test("each criterion's own maximum applies: 7 is fine for style (max 10) but not for content (max 5)", () => {
    expect(problemOf(json(answer({ content: { score: 7 } })))).toBe('score for "content" must be from 0 to 5 (got 7)');
  });

  test.each([
    ['NaN as a string', json(answer({ content: { score: 'NaN' as never } })), /criteria\[0\]\.score: .*expected number/],
    ['a number as a string', json(answer({ content: { score: '4' as never } })), /criteria\[0\]\.score: .*expected number/],
    ['a bare NaN token', json(answer()).replace('"score":4', '"score":NaN'), /not valid JSON/],
    ['1e309 (Infinity)', json(answer()).replace('"score":4', '"score":1e309'), /criteria\[0\]\.score: .*Infinity/],
    ['null', json(answer({ content: { score: null as never } })), /criteria\[0\]\.score: .*expected number/],
  ])('a score that is not a finite number: %s', (_name, text, expected) => {
    expect(problemOf(text)).toMatch(expected);
  });

  test('an empty comment or summary', () => {
    expect(problemOf(json(answer({ content: { comment: '  ' }, summary: '\u0000' })))).toBe('comment for "content" is empty; summary is empty');
  });

  test('a problem quoting model text stays short', () => {
    const problem = problemOf(json(answer({ style: { criterionId: 'z'.repeat(5000) } })));
    expect(problem.length).toBeLessThan(200);
  });
});

describe('repairPrompt', () => {
  test('states the problem and asks for only the JSON object', () => {
    expect(repairPrompt('criterion "style" is missing')).toBe(
      'Your previous answer was not valid: criterion "style" is missing. Answer again with only the JSON object: ' +
        "no prose and no markdown, every rubric criterion exactly once with its criterionId, and each score a number from 0 to that criterion's maxScore.",
    );
  });

  test('a problem that ends in a full stop does not give a double one', () => {
    expect(repairPrompt('the answer was empty.')).toMatch(/^Your previous answer was not valid: the answer was empty\. Answer again/);
  });

  test('stays short whatever the problem', () => {
    expect(repairPrompt('p'.repeat(10_000)).length).toBeLessThan(1000);
  });
});
