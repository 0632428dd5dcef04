import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { AuditEvent } from '../../src/models';
import { acceptDataNotice, as } from '../support/api';
import { feedbackJson, openaiReply, RUBRIC } from '../support/feedback';
import type { LtiHarness } from '../support/lti';

// A local OpenAI-compatible provider for the budget tests: it counts every call, answers with fixed
// token usage, and can hold answers back (so that calls stay "in flight" while a test looks).

export const USAGE = { prompt_tokens: 1000, completion_tokens: 200 };

export interface HeldLlm {
  url: string;
  requests: number;
  inFlight: number;
  inFlightMax: number;
  /** While true, calls wait for release(). */
  hold: boolean;
  /** When set, the calls after this many requests in all wait for release(). */
  holdAfter: number | null;
  /** Answer texts used first, one per call (e.g. an invalid answer to cause a repair retry). */
  nextTexts: string[];
  release(): void;
  /** Answers the oldest waiting call only (holding stays as it is). */
  releaseOne(): void;
  /** Answers the waiting calls made with this API key only (holding stays as it is). */
  releaseFor(apiKey: string): void;
  close(): Promise<void>;
}

export async function startHeldLlm(): Promise<HeldLlm> {
  const waiting: Array<{ answer: () => void; authorization: string | undefined }> = [];
  const state = {
    requests: 0,
    inFlight: 0,
    inFlightMax: 0,
    hold: false,
    holdAfter: null as number | null,
    nextTexts: [] as string[],
  };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.requests += 1;
      state.inFlight += 1;
      state.inFlightMax = Math.max(state.inFlightMax, state.inFlight);
      const answer = () => {
        state.inFlight -= 1;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(openaiReply(state.nextTexts.shift() ?? feedbackJson(4, 8, 'budget'), USAGE)));
      };
      if (state.hold || (state.holdAfter !== null && state.requests > state.holdAfter)) waiting.push({ answer, authorization: req.headers.authorization });
      else setImmediate(answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/v1`,
    release() {
      state.hold = false;
      state.holdAfter = null;
      for (const { answer } of waiting.splice(0)) answer();
    },
    releaseOne() {
      waiting.shift()?.answer();
    },
    releaseFor(apiKey: string) {
      const mine = waiting.filter((w) => w.authorization === `Bearer ${apiKey}`);
      for (const w of mine) waiting.splice(waiting.indexOf(w), 1);
      for (const { answer } of mine) answer();
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  }) as HeldLlm;
}

/** $1.00 in and $4.00 out per 1M tokens: one call of USAGE costs exactly 1000 + 800 = 1800 micro-dollars. */
export const PRICE = { input: '1.00', output: '4.00' };
export const CALL_MICROS = 1800;

export interface Course {
  admin: string;
  teacher: string;
  teacherId: string;
  providerId: string;
  /** The connection's API key (the held LLM can answer its calls alone). */
  apiKey: string;
  instanceId: string;
  assignmentId: string;
  resourceLink: Record<string, unknown>;
  /** A student's ltik for this course link (a new student each time, who has accepted the data-use notice). */
  student(): Promise<string>;
}

/** A connection to `llmUrl`, a priced (or unpriced) model, an instance and an assignment on a fresh link. */
export async function setUpCourse(h: LtiHarness, llmUrl: string, opts: { runs: number; instances?: number; priced?: boolean; maxTokens?: number; maxDrafts?: number }): Promise<Course> {
  const admin = (await h.launch('moodle-admin')).ltik!;
  const model = `budget-model-${randomUUID().slice(0, 8)}`;
  if (opts.priced !== false) {
    const added = await as(h, admin).post('/api/v1/models', { providerKind: 'openai_compatible', model, displayName: `Budget ${model}`, contextWindow: 128000, maxOutput: 8000, inputPricePerMTok: PRICE.input, outputPricePerMTok: PRICE.output });
    if (added.status !== 201) throw new Error(`model: ${added.status} ${added.text}`);
  }
  const apiKey = `local-${randomUUID()}`;
  const provider = await as(h, admin).post('/api/v1/providers', { kind: 'openai_compatible', label: `Budget LLM ${randomUUID().slice(0, 6)}`, apiKey, baseUrl: llmUrl, scope: 'system' });
  if (provider.status !== 201) throw new Error(`provider: ${provider.status} ${provider.text}`);
  const instances: string[] = [];
  for (let i = 0; i < (opts.instances ?? 1); i += 1) {
    const instance = await as(h, admin).post('/api/v1/instances', { name: `Budget instance ${i} ${randomUUID().slice(0, 4)}`, providerId: provider.body.id, model, scope: 'system', params: { maxTokens: opts.maxTokens ?? 1000 } });
    if (instance.status !== 201) throw new Error(`instance: ${instance.status} ${instance.text}`);
    instances.push(instance.body.id);
  }
  const resourceLink = { 'https://purl.imsglobal.org/spec/lti/claim/resource_link': { id: `rl-${randomUUID().slice(0, 8)}`, title: 'Budget essay' } };
  const sub = `teacher-${randomUUID()}`;
  const teacherLaunch = await h.launch('moodle-teacher', { claims: { ...resourceLink, sub, name: 'Budget Teacher' } });
  const teacher = teacherLaunch.ltik!;
  const me = await as(h, teacher).get('/api/v1/me');
  const assignment = await as(h, teacher).post('/api/v1/assignments', {
    title: `Budget essay ${randomUUID().slice(0, 6)}`,
    instructions: 'Argue for or against homework.',
    rubric: RUBRIC,
    models: instances.map((instanceId) => ({ instanceId, runs: opts.runs, weight: 1 })),
    quorum: 1,
    maxDrafts: opts.maxDrafts ?? 3,
  });
  if (assignment.status !== 201) throw new Error(`assignment: ${assignment.status} ${assignment.text}`);
  return {
    admin,
    teacher,
    teacherId: me.body.user.id,
    providerId: provider.body.id,
    apiKey,
    instanceId: instances[0]!,
    assignmentId: assignment.body.id,
    resourceLink,
    student: async () => {
      const ltik = (await h.launch('moodle-student', { claims: { ...resourceLink, sub: `student-${randomUUID()}`, name: 'Budget Student' } })).ltik!;
      await acceptDataNotice(h, ltik);
      return ltik;
    },
  };
}

/** Polls until `check` holds (or the deadline passes, then fails with `what`). */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The micro-dollars one run reserves, read from the budget.exhausted event its refusal records. */
export async function neededMicros(budgetId: string): Promise<number> {
  const event = await AuditEvent.findOne({ where: { action: 'budget.exhausted', targetId: budgetId } });
  const needed = event?.details.neededMicros;
  if (typeof needed !== 'number') throw new Error('no budget.exhausted event with neededMicros');
  return needed;
}
