import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import OpenAI from 'openai';
import request from 'supertest';
import { createMockLlm, keyHash, mockLlmStats, MOCK_MODELS } from '../../src/mockLlm/app';
import { startMockLlm, type RunningMockLlm, type StartMockLlmOptions } from '../../src/mockLlm/server';

// The mock LLM through the real openai SDK, as the app's provider adapter will use it.

const running: RunningMockLlm[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.close()));
});

async function start(opts: StartMockLlmOptions = {}): Promise<RunningMockLlm> {
  const mock = await startMockLlm(opts);
  running.push(mock);
  return mock;
}

function client(url: string, apiKey = 'mock-key'): OpenAI {
  return new OpenAI({ apiKey, baseURL: url, maxRetries: 0, logLevel: 'off' });
}

const RUBRIC_PROMPT = [
  'You are a supportive teaching assistant. Give rubric-based feedback as JSON.',
  'Rubric criteria:',
  '- id: thesis | title: Thesis statement | max 4',
  '- id: evidence | title: Use of evidence | maxScore: 6',
  '- (id organisation) Organisation, max 3',
].join('\n');

const SUBMISSION = 'Cities should invest in protected bike lanes because they reduce injuries and congestion. '.repeat(8);

interface FeedbackJson {
  criteria: Array<{ criterionId: string; score: number; strengths: string[]; improvements: string[]; comment: string }>;
  summary: string;
}

async function feedback(openai: OpenAI, system: string, user: string, extra: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming> = {}) {
  const completion = await openai.chat.completions.create({
    model: 'mock-feedback-1',
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ],
    ...extra,
  });
  return completion;
}

function expectValidFeedback(content: string, expected: Record<string, number>): FeedbackJson {
  const parsed = JSON.parse(content) as FeedbackJson;
  expect(parsed.criteria.map((c) => c.criterionId)).toEqual(Object.keys(expected));
  for (const c of parsed.criteria) {
    expect(c.score).toBeGreaterThanOrEqual(0);
    expect(c.score).toBeLessThanOrEqual(expected[c.criterionId]!);
    expect(c.strengths).toHaveLength(2);
    expect(c.improvements).toHaveLength(2);
    for (const s of [...c.strengths, ...c.improvements, c.comment]) expect(s).toMatch(/^[A-Z].{20,}\.$/);
  }
  expect(parsed.summary).toMatch(/^Overall this submission scores/);
  return parsed;
}

describe('models', () => {
  test('lists the mock models through the SDK', async () => {
    const { url } = await start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const page = await client(url).models.list();
    expect(page.data.map((m) => m.id)).toEqual(['mock-feedback-1', 'mock-feedback-fast']);
    expect([...MOCK_MODELS]).toEqual(page.data.map((m) => m.id));
    for (const m of page.data) expect(m).toMatchObject({ object: 'model', owned_by: 'feedforward' });
  });

  test('401 in OpenAI error shape without a bearer key', async () => {
    const { url } = await start();
    for (const headers of [{}, { Authorization: 'Bearer ' }, { Authorization: 'Basic abc' }] as Array<Record<string, string>>) {
      const res = await fetch(`${url}/models`, { headers });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: Record<string, unknown> };
      expect(body.error).toEqual({ message: expect.stringMatching(/API key/), type: 'invalid_request_error', param: null, code: 'invalid_api_key' });
    }
    const post = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(401);
  });

  test('the SDK sees an AuthenticationError when no key is sent', async () => {
    const { url } = await start();
    const keyless = new OpenAI({ apiKey: 'unused', baseURL: url, maxRetries: 0, logLevel: 'off', defaultHeaders: { Authorization: null } });
    await expect(keyless.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe('chat completions', () => {
  test('JSON feedback for the criteria named in the system message, scores in range, usage counted', async () => {
    const { url } = await start();
    const completion = await feedback(client(url), RUBRIC_PROMPT, SUBMISSION, { model: 'mock-feedback-fast' });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('mock-feedback-fast');
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('stop');
    expect(choice.message.role).toBe('assistant');
    const content = choice.message.content!;
    const parsed = expectValidFeedback(content, { thesis: 4, evidence: 6, organisation: 3 });
    expect(parsed.criteria[0]!.comment).toMatch(/\b[Tt]he thesis statement[ ;]/);
    expect(completion.usage).toEqual({
      prompt_tokens: Math.ceil((RUBRIC_PROMPT.length + SUBMISSION.length) / 4),
      completion_tokens: Math.ceil(content.length / 4),
      total_tokens: Math.ceil((RUBRIC_PROMPT.length + SUBMISSION.length) / 4) + Math.ceil(content.length / 4),
    });
  });

  test('criterion ids from response_format.json_schema (enum), maxima from the prompt', async () => {
    const { url } = await start();
    const schema = {
      type: 'object',
      additionalProperties: false,
      required: ['criteria', 'summary'],
      properties: {
        criteria: {
          type: 'array',
          items: {
            type: 'object',
            properties: { criterionId: { type: 'string', enum: ['c-1', 'c-2'] }, score: { type: 'number', minimum: 0 } },
          },
        },
        summary: { type: 'string' },
      },
    };
    const system = 'Assess the essay. Criteria: c-1 (Argument) is scored out of 5; c-2 (Style) max 2.';
    const completion = await feedback(client(url), system, SUBMISSION, {
      response_format: { type: 'json_schema', json_schema: { name: 'rubric_feedback', schema, strict: true } },
    });
    expectValidFeedback(completion.choices[0]!.message.content!, { 'c-1': 5, 'c-2': 2 });
  });

  test('one "overall" criterion out of 10 when no criteria can be found', async () => {
    const { url } = await start();
    const completion = await feedback(client(url), 'Be kind and specific.', SUBMISSION);
    expectValidFeedback(completion.choices[0]!.message.content!, { overall: 10 });
  });

  test('scores vary a little per request but replay exactly under the same seed', async () => {
    const a = await start({ seed: 42 });
    const b = await start({ seed: 42 });
    const contentsOf = async (url: string) => {
      const out: string[] = [];
      for (let i = 0; i < 6; i += 1) out.push((await feedback(client(url), RUBRIC_PROMPT, SUBMISSION)).choices[0]!.message.content!);
      return out;
    };
    const first = await contentsOf(a.url);
    const second = await contentsOf(b.url);
    expect(second).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(1);
    for (const content of first) expectValidFeedback(content, { thesis: 4, evidence: 6, organisation: 3 });
  });

  test('respects the configured latency', async () => {
    const { url } = await start({ latencyMs: 150 });
    const openai = client(url);
    const started = performance.now();
    await feedback(openai, RUBRIC_PROMPT, SUBMISSION);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  test('jitter stays within latency ± jitter', async () => {
    const { url } = await start({ latencyMs: 100, jitterMs: 60, seed: 9 });
    const started = performance.now();
    await feedback(client(url), RUBRIC_PROMPT, SUBMISSION);
    expect(performance.now() - started).toBeGreaterThanOrEqual(40);
  });

  test('streaming is refused with a 400', async () => {
    const { url } = await start();
    await expect(
      client(url).chat.completions.create({ model: 'mock-feedback-1', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });

  test('a malformed body is a 400 in OpenAI error shape', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer mock-key' },
      body: '{"model": "mock-feedback-1", "messages": [',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });
});

describe('markers and failures', () => {
  test('[[mock:invalid-json]] returns prose', async () => {
    const { url } = await start();
    const completion = await feedback(client(url), RUBRIC_PROMPT, `${SUBMISSION} [[mock:invalid-json]]`);
    const content = completion.choices[0]!.message.content!;
    expect(content.length).toBeGreaterThan(40);
    expect(() => JSON.parse(content)).toThrow();
  });

  test('[[mock:429]] is a RateLimitError with retry-after: 1', async () => {
    const { url } = await start();
    const err = await feedback(client(url), RUBRIC_PROMPT, `[[mock:429]] ${SUBMISSION}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const apiErr = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(apiErr.status).toBe(429);
    expect(apiErr.headers.get('retry-after')).toBe('1');
    expect(apiErr.code).toBe('rate_limit_exceeded');
  });

  test('[[mock:500]] is an InternalServerError', async () => {
    const { url } = await start();
    const err = await feedback(client(url), RUBRIC_PROMPT, `${SUBMISSION}\n[[mock:500]]`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(500);
  });

  test('only the last user message carries markers', async () => {
    const { url } = await start();
    const completion = await client(url).chat.completions.create({
      model: 'mock-feedback-1',
      messages: [
        { role: 'system', content: RUBRIC_PROMPT },
        { role: 'user', content: 'earlier turn [[mock:500]]' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: SUBMISSION },
      ],
    });
    expectValidFeedback(completion.choices[0]!.message.content!, { thesis: 4, evidence: 6, organisation: 3 });
  });

  test('[[mock:slow]] waits slowMs (5 s by default)', async () => {
    const { url } = await start({ slowMs: 300 });
    const started = performance.now();
    await feedback(client(url), RUBRIC_PROMPT, `${SUBMISSION} [[mock:slow]]`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
  });

  test('failRate fails that fraction of completions, the same ones under the same seed', async () => {
    const outcomes = async (mock: RunningMockLlm) => {
      const openai = client(mock.url);
      const out: number[] = [];
      for (let i = 0; i < 20; i += 1) {
        out.push(await feedback(openai, RUBRIC_PROMPT, SUBMISSION).then(() => 200, (e: { status?: number }) => e.status ?? -1));
      }
      return out;
    };
    const a = await outcomes(await start({ failRate: 0.5, seed: 3 }));
    const b = await outcomes(await start({ failRate: 0.5, seed: 3 }));
    expect(b).toEqual(a);
    expect(a).toContain(200);
    expect(a).toContain(500);
    expect(a.every((s) => s === 200 || s === 500)).toBe(true);
    expect(await outcomes(await start({ failRate: 1 }))).toEqual(Array(20).fill(500));
  });
});

describe('statistics', () => {
  test('tracks concurrent requests overall and per key (hashed)', async () => {
    const mock = await start({ latencyMs: 200 });
    const a = client(mock.url, 'key-A-0123456789');
    const b = client(mock.url, 'key-B-9876543210');
    await Promise.all(Array.from({ length: 5 }, () => feedback(a, RUBRIC_PROMPT, SUBMISSION)));
    expect(mock.stats.requests).toBe(5);
    expect(mock.stats.inFlightMax).toBeGreaterThanOrEqual(2);
    expect(mock.stats.inFlightMax).toBeLessThanOrEqual(5);
    expect(Object.keys(mock.stats.inFlightMaxByKey)).toEqual([keyHash('key-A-0123456789')]);
    expect(mock.stats.inFlightMaxByKey[keyHash('key-A-0123456789')]).toBeGreaterThanOrEqual(2);

    await Promise.all([feedback(b, RUBRIC_PROMPT, SUBMISSION), feedback(b, RUBRIC_PROMPT, SUBMISSION)]);
    expect(mock.stats.inFlightMaxByKey[keyHash('key-B-9876543210')]).toBe(2);

    const origin = mock.url.replace(/\/v1$/, '');
    const res = await fetch(`${origin}/_stats`);
    const text = await res.text();
    expect(text).not.toMatch(/key-A|key-B/);
    const reported = JSON.parse(text) as typeof mock.stats;
    expect(reported).toMatchObject({ requests: 7, inFlightMax: mock.stats.inFlightMax, inFlightMaxByKey: mock.stats.inFlightMaxByKey });

    const reset = await fetch(`${origin}/_stats/reset`, { method: 'POST' });
    expect(await reset.json()).toEqual({ requests: 0, inFlight: 0, inFlightMax: 0, inFlightMaxByKey: {} });
    expect(mock.stats).toEqual({ requests: 0, inFlight: 0, inFlightMax: 0, inFlightMaxByKey: {} });
  });

  test('sequential requests never overlap; in-flight returns to 0', async () => {
    const mock = await start({ latencyMs: 20 });
    const openai = client(mock.url);
    for (let i = 0; i < 3; i += 1) await feedback(openai, RUBRIC_PROMPT, SUBMISSION);
    await openai.models.list();
    expect(mock.stats).toMatchObject({ requests: 4, inFlight: 0, inFlightMax: 1 });
    expect(Object.values(mock.stats.inFlightMaxByKey)).toEqual([1]);
  });

  test('createMockLlm works without listening (supertest), and its log never holds keys or bodies', async () => {
    const lines: string[] = [];
    const app = createMockLlm({ log: (line) => lines.push(line) });
    const res = await request(app)
      .post('/v1/chat/completions')
      .set('Authorization', 'Bearer sk-CANARY-secret-key')
      .send({ model: 'my-private-model', messages: [{ role: 'system', content: RUBRIC_PROMPT }, { role: 'user', content: 'CANARY submission text' }] });
    expect(res.status).toBe(200);
    await request(app).get('/v1/models').set('Authorization', 'Bearer sk-CANARY-secret-key').expect(200);
    expect(mockLlmStats(app).requests).toBe(2);
    expect(lines).toEqual([expect.stringMatching(/^POST \/v1\/chat\/completions 200 \d+ms model=other$/), expect.stringMatching(/^GET \/v1\/models 200 \d+ms$/)]);
    expect(lines.join('\n')).not.toMatch(/CANARY/);
  });
});

describe('lifecycle', () => {
  test('listens on 127.0.0.1 only and refuses other hosts and bad options', async () => {
    await expect(startMockLlm({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
    expect(() => createMockLlm({ failRate: 2 })).toThrow(RangeError);
    expect(() => createMockLlm({ latencyMs: -1 })).toThrow(RangeError);
  });

  test('close() frees the port, even with keep-alive connections open', async () => {
    const mock = await startMockLlm({ latencyMs: 10 });
    const port = Number(new URL(mock.url).port);
    await client(mock.url).models.list();
    await feedback(client(mock.url), RUBRIC_PROMPT, SUBMISSION);
    await mock.close();
    await mock.close(); // idempotent
    const probe = net.createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const again = await start({ port });
    expect(again.url).toBe(`http://127.0.0.1:${port}/v1`);
  });

  test('close() ends requests still waiting on latency', async () => {
    const mock = await startMockLlm({ latencyMs: 10_000 });
    const pending = feedback(client(mock.url), RUBRIC_PROMPT, SUBMISSION).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    expect(mock.stats.inFlight).toBe(1);
    const started = performance.now();
    await mock.close();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  test('the CLI entry (npm run mock-llm) prints its URL and how to connect, and stops on SIGTERM', async () => {
    const root = path.resolve(__dirname, '../..');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/mockLlm/server.ts'], {
      cwd: root,
      env: { ...process.env, MOCK_LLM_PORT: '0', MOCK_LLM_LATENCY_MS: '5' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!/Ctrl-C/.test(output) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(output)?.[1];
      expect(url).toBeDefined();
      expect(output).toContain('OpenAI-compatible');
      expect(output).toContain(`Base URL:  ${url}`);
      expect(output).toContain('mock-key');
      const completion = await feedback(client(url!, 'sk-CLI-CANARY-key'), RUBRIC_PROMPT, 'CLI CANARY submission');
      expect(JSON.parse(completion.choices[0]!.message.content!)).toHaveProperty('criteria');
      await new Promise((r) => setTimeout(r, 100));
      expect(output).toMatch(/POST \/v1\/chat\/completions 200/);
      expect(output).not.toMatch(/CANARY/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
