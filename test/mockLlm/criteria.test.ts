import { findCriteria, readable } from '../../src/mockLlm/criteria';
import { buildFeedback } from '../../src/mockLlm/feedback';
import { buildPrompt, outputJsonSchema } from '../../src/feedback/prompt';

// How the mock finds rubric criteria in prompts whose exact format is still being written.

const withSystem = (content: string) => [
  { role: 'system', content },
  { role: 'user', content: 'The submission.' },
];
const idsAndMax = (criteria: ReturnType<typeof findCriteria>) => Object.fromEntries(criteria.map((c) => [c.id, c.maxScore]));

describe('finding criteria', () => {
  test.each([
    ['id: lines with max / maxScore', '- id: thesis, max 4\n- id: evidence — maxScore: 6\n- ID: style (max_score = 3)', { thesis: 4, evidence: 6, style: 3 }],
    ['"id": "…" with "maxScore"', '[{"id": "clarity", "title": "Clarity", "maxScore": 5}, {"id": "depth", "maxScore": 10}]', { clarity: 5, depth: 10 }],
    ['pretty-printed JSON rubric', '{\n  "criteria": [\n    {\n      "id": "a",\n      "points": 2\n    },\n    {\n      "id": "b",\n      "max_score": 7.5\n    }\n  ]\n}', { a: 2, b: 7.5 }],
    ['(id …) headings with point ranges', '## Argument (id argument)\nScored 0-8.\n## Sources (id sources)\nExcellent: 3 points; Weak: 1 point', { argument: 8, sources: 3 }],
    ['max before the id on the same line', '[max 5] Analysis (id analysis)\n[max 2] Format (id format)', { analysis: 5, format: 2 }],
    ['ids without maxima default to 10', 'id: one\nid: two', { one: 10, two: 10 }],
    ['no criteria at all', 'Be kind.', { overall: 10 }],
  ])('%s', (_name, system, expected) => {
    expect(idsAndMax(findCriteria(withSystem(system)))).toEqual(expected);
  });

  test('a schema embedded in the system message (json_object mode) names the ids', () => {
    const schema = { type: 'object', properties: { criteria: { type: 'array', items: { properties: { criterionId: { type: 'string', enum: ['q1', 'q2'] }, score: { type: 'number' } } } } } };
    const system = `Rubric: q1 (Method) max 7. q2 (Writing) out of 3.\n\nReply with one JSON object and nothing else. It must follow this JSON Schema (named "feedback"):\n${JSON.stringify(schema)}`;
    expect(idsAndMax(findCriteria(withSystem(system)))).toEqual({ q1: 7, q2: 3 });
  });

  test('response_format schema: per-criterion const and score.maximum win', () => {
    const schema = {
      type: 'object',
      properties: {
        criteria: {
          type: 'array',
          prefixItems: [
            { type: 'object', properties: { criterionId: { const: 'thesis' }, score: { type: 'integer', minimum: 0, maximum: 4 } } },
            { type: 'object', properties: { criterionId: { const: 'org' }, score: { type: 'integer', minimum: 0, maximum: 2 } } },
          ],
        },
      },
    };
    const found = findCriteria(withSystem('id: ignored, max 9'), { type: 'json_schema', json_schema: { name: 'f', schema } });
    expect(idsAndMax(found)).toEqual({ thesis: 4, org: 2 });
  });

  test('content given as an array of text parts, and a developer message, are read', () => {
    const found = findCriteria([
      { role: 'developer', content: [{ type: 'text', text: 'id: voice, max 2' }] },
      { role: 'user', content: 'x' },
    ]);
    expect(idsAndMax(found)).toEqual({ voice: 2 });
  });

  test('criterionId does not count as an id line', () => {
    expect(idsAndMax(findCriteria(withSystem('Reply with {"criterionId": "x", "score": 1}')))).toEqual({ overall: 10 });
  });

  test('readable titles', () => {
    expect(readable('thesis_statement')).toBe('thesis statement');
    expect(readable('useOfEvidence')).toBe('use of evidence');
  });
});

describe('building feedback', () => {
  const criteria = [
    { id: 'a', maxScore: 4, title: 'Thesis statement' },
    { id: 'b', maxScore: 2.5, title: 'citations' },
    { id: 'c', maxScore: 1, title: 'format' },
  ];

  test('scores stay within 0..max across many requests and submissions', () => {
    for (let n = 1; n <= 300; n += 1) {
      const fb = buildFeedback({ criteria, submission: `submission ${n % 7} `.repeat(n % 50), seed: 5, requestNumber: n });
      for (const [i, c] of fb.criteria.entries()) {
        expect(c.score).toBeGreaterThanOrEqual(0);
        expect(c.score).toBeLessThanOrEqual(criteria[i]!.maxScore);
        expect(c.strengths[0]).not.toEqual(c.strengths[1]);
        expect(c.improvements[0]).not.toEqual(c.improvements[1]);
      }
    }
  });

  test('deterministic for the same seed, submission and request number', () => {
    const input = { criteria, submission: 'An essay.', seed: 1, requestNumber: 3 };
    expect(buildFeedback(input)).toEqual(buildFeedback(input));
  });
});

describe('titles', () => {
  test('from title:/name: fields, headings before (id …), else the id made readable', () => {
    const found = findCriteria(
      withSystem('## 1. Use of evidence (id evidence) max 6\n- id: thesis_statement, max 4\n- id: org | title: Organisation | max 3\n[max 2] Format (id format)'),
    );
    expect(found.map((c) => [c.id, c.title])).toEqual([
      ['evidence', 'Use of evidence'],
      ['thesis_statement', 'thesis statement'],
      ['org', 'Organisation'],
      ['format', 'Format'],
    ]);
  });
});

describe('the real feedback prompt (src/feedback/prompt.ts)', () => {
  const rubric = [
    { id: 'thesis', name: 'Thesis statement', description: 'A clear, arguable claim; max 1 paragraph.', weight: 0.3, maxScore: 4 },
    {
      id: 'evidence',
      name: 'Use of evidence',
      description: 'Cites at least 3 sources out of 5 suggested ones.',
      weight: 0.5,
      maxScore: 6,
      levels: [
        { score: 6, description: 'Excellent' },
        { score: 3, description: 'Partial' },
      ],
    },
    { id: 'mechanics', name: 'Mechanics', description: 'Grammar and spelling.', weight: 0.2, maxScore: 2.5 },
  ];
  const expected = { thesis: 4, evidence: 6, mechanics: 2.5 };

  test('criteria, maxima and names come out of buildPrompt, with and without the response_format schema', () => {
    const { messages } = buildPrompt({
      assignmentTitle: 'Bike lanes',
      instructions: 'Write a 500-word op-ed, scored out of 12.',
      rubric,
      draftNumber: 1,
      maxDrafts: 2,
      submissionText: 'id: injected, max 99',
    });
    expect(idsAndMax(findCriteria(messages))).toEqual(expected);
    expect(findCriteria(messages).map((c) => c.title)).toEqual(['Thesis statement', 'Use of evidence', 'Mechanics']);
    const schema = outputJsonSchema(rubric);
    expect(idsAndMax(findCriteria(messages, { type: 'json_schema', json_schema: { name: 'feedback', schema, strict: true } }))).toEqual(expected);
    // json_object mode: the adapter appends the schema to the system message.
    const withSchema = [{ role: 'system', content: `${messages[0]!.content}\n\nReply with one JSON object. Schema:\n${JSON.stringify(schema)}` }, messages[1]!];
    expect(idsAndMax(findCriteria(withSchema))).toEqual(expected);
  });
});
