import nock from 'nock';
import { createProviderAdapter, type ConnectionSettings, type ProviderKind } from '../../src/providers';
import { everyRenderingOf, providerErrorOf, requestCounter, schema, useNock } from './support';

// The three kinds spoken through the openai SDK, each against its own base URL. Adapters are built
// inside each test, after its interceptors, as nock requires.

interface KindCase {
  kind: ProviderKind;
  origin: string;
  basePath: string;
  settings: Omit<ConnectionSettings, 'timeoutMs'>;
  structured: 'json_schema' | 'json_object';
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
  sendsUser: boolean;
}

const cases: KindCase[] = [
  {
    kind: 'openai',
    origin: 'https://api.openai.com',
    basePath: '/v1',
    settings: { kind: 'openai', apiKey: 'sk-proj-CANARYopenai0123456789abcdef', organization: 'org-feedforward', project: 'proj_rubrics' },
    structured: 'json_schema',
    maxTokensField: 'max_completion_tokens',
    sendsUser: true,
  },
  {
    kind: 'huggingface',
    origin: 'https://router.huggingface.co',
    basePath: '/v1',
    settings: { kind: 'huggingface', apiKey: 'hf_CANARYhuggingface0123456789abcd' },
    structured: 'json_object',
    maxTokensField: 'max_tokens',
    sendsUser: false,
  },
  {
    kind: 'openai_compatible',
    origin: 'https://llm.example.edu',
    basePath: '/openai/v1',
    settings: { kind: 'openai_compatible', apiKey: 'ollama-CANARY-compatible-key', baseUrl: 'https://llm.example.edu/openai/v1' },
    structured: 'json_object',
    maxTokensField: 'max_tokens',
    sendsUser: false,
  },
];

const chatCompletion = (content: string) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'model-from-provider',
  choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 812, completion_tokens: 145, total_tokens: 957 },
});

const request = {
  model: 'the-model',
  messages: [
    { role: 'system' as const, content: 'You give rubric feedback.' },
    { role: 'user' as const, content: 'The essay.' },
  ],
  params: { temperature: 0.4, maxTokens: 700 },
};

const { unmatchedRequests } = useNock();

describe.each(cases)('$kind adapter', (c) => {
  const key = c.settings.apiKey;
  const chatPath = `${c.basePath}/chat/completions`;
  const adapter = (timeoutMs = 2000) => createProviderAdapter({ ...c.settings, timeoutMs });

  test('a completion returns text, usage, latency and model, sent with the key, model and parameters', async () => {
    let body: Record<string, any> = {};
    let authorization = '';
    const scope = nock(c.origin)
      .matchHeader('authorization', (value) => ((authorization = value), true))
      .post(chatPath, (b) => ((body = b), true))
      .reply(200, chatCompletion('{"score":3,"comment":"Clear."}'));

    const result = await adapter().complete({ ...request, structuredOutput: { name: 'rubric_feedback', schema }, user: 'u-5f2a' });

    expect(result).toEqual({
      text: '{"score":3,"comment":"Clear."}',
      usage: { inputTokens: 812, outputTokens: 145 },
      latencyMs: expect.any(Number),
      model: 'model-from-provider',
      finishReason: 'stop',
    });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(scope.isDone()).toBe(true);
    expect(authorization).toBe(`Bearer ${key}`);
    expect(body.model).toBe('the-model');
    expect(body.temperature).toBe(0.4);
    expect(body[c.maxTokensField]).toBe(700);
    expect(Object.keys(body)).not.toContain(c.maxTokensField === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens');
    expect(body).not.toHaveProperty('top_p');
    if (c.sendsUser) expect(body.user).toBe('u-5f2a');
    else expect(body).not.toHaveProperty('user');
    if (c.structured === 'json_schema') {
      expect(body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'rubric_feedback', schema, strict: true } });
      expect(body.messages).toEqual(request.messages);
    } else {
      expect(body.response_format).toEqual({ type: 'json_object' });
      // The schema travels in the one system message, so templates that allow one still work.
      expect(body.messages).toHaveLength(2);
      expect(body.messages[0].role).toBe('system');
      expect(body.messages[0].content).toContain('You give rubric feedback.');
      expect(body.messages[0].content).toContain('JSON');
      expect(body.messages[0].content).toContain(JSON.stringify(schema));
      expect(body.messages[1]).toEqual(request.messages[1]);
    }
    expect(unmatchedRequests()).toBe(0);
  });

  test('a plain completion sends no response_format and leaves unset parameters out', async () => {
    let body: Record<string, any> = {};
    nock(c.origin)
      .post(chatPath, (b) => ((body = b), true))
      .reply(200, chatCompletion('Well argued.'));

    const result = await adapter().complete({ model: 'the-model', messages: [{ role: 'user', content: 'Hi' }], params: {} });

    expect(result.text).toBe('Well argued.');
    expect(body).toEqual({ model: 'the-model', messages: [{ role: 'user', content: 'Hi' }] });
  });

  if (c.kind === 'openai') {
    test('organization and project go as OpenAI headers', async () => {
      const scope = nock(c.origin, { reqheaders: { 'openai-organization': 'org-feedforward', 'openai-project': 'proj_rubrics' } })
        .post(chatPath)
        .reply(200, chatCompletion('ok'));
      await adapter().complete(request);
      expect(scope.isDone()).toBe(true);
    });

    test('OPENAI_* environment variables cannot redirect the key or add an organization', async () => {
      const names = ['OPENAI_BASE_URL', 'OPENAI_ORG_ID', 'OPENAI_LOG'];
      Object.assign(process.env, { OPENAI_BASE_URL: 'https://attacker.example/v1', OPENAI_ORG_ID: 'org-env', OPENAI_LOG: 'debug' });
      const spies = (['log', 'debug', 'info', 'warn', 'error'] as const).map((name) => jest.spyOn(console, name).mockImplementation(() => {}));
      try {
        const scope = nock(c.origin, { badheaders: ['openai-organization'] }).post(chatPath).reply(401, { error: { message: `Incorrect API key provided: ${key}` } });
        const err = await providerErrorOf(createProviderAdapter({ kind: 'openai', apiKey: key }).complete(request));
        expect(err.code).toBe('auth');
        expect(scope.isDone()).toBe(true);
        expect(unmatchedRequests()).toBe(0);
        const printed = spies.flatMap((spy) => spy.mock.calls).map((args) => JSON.stringify(args)).join('\n');
        expect(printed).not.toContain(key);
      } finally {
        for (const name of names) delete process.env[name];
        for (const spy of spies) spy.mockRestore();
      }
    });
  }

  test('a 401 whose body echoes the key becomes auth, and no rendering of the error holds the key', async () => {
    nock(c.origin)
      .post(chatPath)
      .reply(401, { error: { message: `Incorrect API key provided: ${key}. You can find your API key at …`, type: 'invalid_request_error', code: 'invalid_api_key' } }, { 'x-echo': key });

    const err = await providerErrorOf(adapter().complete(request));

    expect(err.code).toBe('auth');
    expect(err.status).toBe(401);
    expect(err.message).toBe('The provider rejected the API key.');
    expect(everyRenderingOf(err)).not.toContain(key);
    expect(err).not.toHaveProperty('cause');
  });

  test('a 429 with retry-after: 7 becomes rate_limited with retryAfterMs 7000, after exactly one request', async () => {
    const scope = nock(c.origin)
      .post(chatPath)
      .reply(429, { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } }, { 'retry-after': '7' })
      .post(chatPath)
      .reply(200, chatCompletion('a retry would have got this'));
    const requests = requestCounter(scope);

    const err = await providerErrorOf(adapter().complete(request));

    expect(err).toMatchObject({ code: 'rate_limited', retryAfterMs: 7000, status: 429 });
    expect(requests()).toBe(1);
    expect(scope.pendingMocks()).toHaveLength(1);
  });

  test('a 429 insufficient_quota becomes quota, not a rate limit', async () => {
    nock(c.origin)
      .post(chatPath)
      .reply(429, { error: { message: 'You exceeded your current quota.', type: 'insufficient_quota', code: 'insufficient_quota' } }, { 'retry-after': '20' });

    const err = await providerErrorOf(adapter().complete(request));

    expect(err.code).toBe('quota');
    expect(err.retryAfterMs).toBeUndefined();
  });

  test('a 500 becomes unavailable after exactly one request', async () => {
    const scope = nock(c.origin)
      .post(chatPath)
      .reply(500, { error: { message: 'The server had an error' } })
      .post(chatPath)
      .reply(200, chatCompletion('a retry would have got this'));
    const requests = requestCounter(scope);

    const err = await providerErrorOf(adapter().complete(request));

    expect(err).toMatchObject({ code: 'unavailable', status: 500 });
    expect(requests()).toBe(1);
    expect(scope.pendingMocks()).toHaveLength(1);
  });

  test('a 400 becomes bad_request without the provider text', async () => {
    nock(c.origin)
      .post(chatPath)
      .reply(400, { error: { message: `Invalid value for 'model': the-model (key ${key})`, type: 'invalid_request_error', param: 'model' } });

    const err = await providerErrorOf(adapter().complete(request));

    expect(err).toMatchObject({ code: 'bad_request', status: 400 });
    expect(everyRenderingOf(err)).not.toContain('the-model');
  });

  test('a response slower than timeoutMs becomes timeout, promptly and after one request', async () => {
    const scope = nock(c.origin).post(chatPath).delay(1000).reply(200, chatCompletion('too late'));
    const requests = requestCounter(scope);
    const started = Date.now();

    const err = await providerErrorOf(adapter(200).complete(request));

    expect(err.code).toBe('timeout');
    expect(err.message).toBe('The provider did not answer in time.');
    expect(Date.now() - started).toBeLessThan(900);
    expect(requests()).toBe(1);
  });

  test('a connection reset becomes unavailable after one request', async () => {
    const scope = nock(c.origin)
      .post(chatPath)
      .replyWithError(Object.assign(new Error(`socket hang up ${key}`), { code: 'ECONNRESET' }))
      .post(chatPath)
      .reply(200, chatCompletion('a retry would have got this'));
    const requests = requestCounter(scope);

    const err = await providerErrorOf(adapter().complete(request));

    expect(err.code).toBe('unavailable');
    expect(everyRenderingOf(err)).not.toContain(key);
    expect(requests()).toBe(1);
    expect(scope.pendingMocks()).toHaveLength(1);
  });

  test("the caller's abort ends the call as a cancelled timeout", async () => {
    nock(c.origin).post(chatPath).delay(1000).reply(200, chatCompletion('too late'));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();

    const err = await providerErrorOf(adapter(5000).complete({ ...request, signal: controller.signal }));

    expect(err.code).toBe('timeout');
    expect(err.message).toBe('The provider call was cancelled before it finished.');
    expect(Date.now() - started).toBeLessThan(900);
  });

  test('an already aborted signal sends nothing', async () => {
    const err = await providerErrorOf(adapter().complete({ ...request, signal: AbortSignal.abort() }));

    expect(err.code).toBe('timeout');
    expect(unmatchedRequests()).toBe(0);
  });

  test('verify lists the models with one GET /models carrying the key', async () => {
    const scope = nock(c.origin, { reqheaders: { authorization: `Bearer ${key}` } })
      .get(`${c.basePath}/models`)
      .reply(200, { object: 'list', data: [{ id: 'model-a', object: 'model', created: 1, owned_by: 'x' }, { id: 'model-b', object: 'model', created: 1, owned_by: 'x' }] });

    await expect(adapter().verify()).resolves.toEqual({ models: ['model-a', 'model-b'] });
    expect(scope.isDone()).toBe(true);
  });

  test('verify with a rejected key becomes auth without the key', async () => {
    nock(c.origin).get(`${c.basePath}/models`).reply(401, { error: { message: `Incorrect API key provided: ${key}`, code: 'invalid_api_key' } });

    const err = await providerErrorOf(adapter().verify());

    expect(err.code).toBe('auth');
    expect(everyRenderingOf(err)).not.toContain(key);
  });
});

test('an openai_compatible connection without a base URL cannot be built', () => {
  expect(() => createProviderAdapter({ kind: 'openai_compatible', apiKey: 'anything' })).toThrow('This provider connection needs a base URL.');
});
