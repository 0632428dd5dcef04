import { randomUUID } from 'node:crypto';
import { FeedbackWorker } from '../../src/feedback/worker';
import type { Rubric } from '../../src/feedback/types';
import { as } from './api';
import type { LtiHarness } from './lti';

// Pieces the feedback pipeline tests share: a rubric, provider replies in each SDK's wire format,
// and a worker bound to the test app.

export const RUBRIC: Rubric = [
  { id: 'content', name: 'Content', description: 'A clear thesis with evidence.', weight: 2, maxScore: 5 },
  { id: 'style', name: 'Style', description: 'Readable prose.', weight: 1, maxScore: 10 },
];

export function feedbackJson(content: number, style: number, tag = 'run') {
  return {
    criteria: [
      { criterionId: 'content', score: content, strengths: [`Thesis is clear (${tag})`], improvements: ['Cite more sources'], comment: `Content ${content} (${tag})` },
      { criterionId: 'style', score: style, strengths: ['Varied sentences'], improvements: [`Fix comma splices (${tag})`], comment: `Style ${style} (${tag})` },
    ],
    summary: `Summary from ${tag}`,
  };
}

export const openaiReply = (json: unknown, usage = { prompt_tokens: 1000, completion_tokens: 200 }) => ({
  id: `chatcmpl-${randomUUID()}`,
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: typeof json === 'string' ? json : JSON.stringify(json) }, finish_reason: 'stop' }],
  usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
});

export const anthropicReply = (json: unknown, usage = { input_tokens: 1200, output_tokens: 300 }) => ({
  id: `msg_${randomUUID()}`,
  type: 'message',
  role: 'assistant',
  model: 'claude-haiku-4-5',
  content: [{ type: 'tool_use', id: 'toolu_1', name: 'rubric_feedback', input: json }],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage,
});

export function startWorker(h: LtiHarness, opts: { retryBaseMs?: number; maxAttempts?: number; callTimeoutMs?: number } = {}): FeedbackWorker {
  const worker = new FeedbackWorker({
    sequelize: h.ctx.sequelize,
    keyring: h.ctx.keyring,
    logger: h.ctx.logger,
    lti: h.ctx.app.lti,
    pollMs: 50,
    retryBaseMs: opts.retryBaseMs ?? 20,
    maxAttempts: opts.maxAttempts,
    callTimeoutMs: opts.callTimeoutMs,
  });
  worker.start();
  return worker;
}

/** Waits until the submission leaves queued/running (or the timeout passes). */
export async function settled(h: LtiHarness, ltik: string, submissionId: string, timeoutMs = 15000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await as(h, ltik).get(`/api/v1/submissions/${submissionId}`);
    if (!['queued', 'running'].includes(res.body.status) || Date.now() > deadline) return res.body;
    await new Promise((r) => setTimeout(r, 50));
  }
}
