import nock from 'nock';
import { createProviderAdapter } from '../../src/providers';
import { everyRenderingOf, providerErrorOf, requestCounter, schema, useNock } from './support';

// Adapters are built inside each test, after its interceptors, as nock requires.

const { unmatchedRequests } = useNock();

const origin = 'https://api.anthropic.com';
const key = 'sk-ant-api03-CANARYanthropic0123456789abcdef';
const adapter = (timeoutMs = 2000) => createProviderAdapter({ kind: 'anthropic', apiKey: key, timeoutMs });

const message = (content: unknown[], stopReason = 'end_turn') => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-from-provider',
  content,
  stop_reason: stopReason,
  stop_sequence: null,
  usage: { input_tokens: 640, output_tokens: 212, cache_creation_input_tokens: null, cache_read_input_tokens: null },
});

const errorBody = (type: string, text: string) => ({ type: 'error', error: { type, message: text } });

const request = {
  model: 'claude-the-model',
  messages: [
    { role: 'system' as const, content: 'You give rubric feedback.' },
    { role: 'user' as const, content: 'The essay.' },
  ],
  params: { temperature: 0.2, maxTokens: 900 },
};

test('structured output is one forced tool, and the answer is its input as JSON text', async () => {
  let body: Record<string, any> = {};
  let authorization = '';
  const scope = nock(origin, { reqheaders: { 'anthropic-version': (value) => value.length > 0 } })
    .matchHeader('authorization', (value) => ((authorization = value), true))
    .post('/v1/messages', (b) => ((body = b), true))
    .reply(200, message([{ type: 'tool_use', id: 'toolu_1', name: 'rubric_feedback', input: { score: 3, comment: 'Clear.' } }], 'tool_use'));

  const result = await adapter().complete({ ...request, structuredOutput: { name: 'rubric_feedback', schema }, user: 'u-5f2a' });

  expect(result).toEqual({
    text: '{"score":3,"comment":"Clear."}',
    usage: { inputTokens: 640, outputTokens: 212 },
    latencyMs: expect.any(Number),
    model: 'claude-from-provider',
    finishReason: 'tool_use',
  });
  expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  expect(scope.isDone()).toBe(true);
  // SDK 1.x sends the API key as a bearer token.
  expect(authorization).toBe(`Bearer ${key}`);
  expect(body).toMatchObject({
    model: 'claude-the-model',
    max_tokens: 900,
    temperature: 0.2,
    system: 'You give rubric feedback.',
    messages: [{ role: 'user', content: 'The essay.' }],
    tools: [{ name: 'rubric_feedback', input_schema: schema }],
    tool_choice: { type: 'tool', name: 'rubric_feedback' },
    metadata: { user_id: 'u-5f2a' },
  });
  expect(body).not.toHaveProperty('top_p');
  expect(unmatchedRequests()).toBe(0);
});

test('a plain completion joins the text blocks, fills the required max_tokens and leaves sampling unset', async () => {
  let body: Record<string, any> = {};
  nock(origin)
    .post('/v1/messages', (b) => ((body = b), true))
    .reply(200, message([{ type: 'text', text: 'Well ' }, { type: 'text', text: 'argued.' }]));

  const result = await adapter().complete({ model: 'claude-the-model', messages: [{ role: 'user', content: 'Hi' }], params: { topP: 1 } });

  expect(result.text).toBe('Well argued.');
  expect(result.finishReason).toBe('end_turn');
  expect(body).toEqual({ model: 'claude-the-model', max_tokens: 4096, messages: [{ role: 'user', content: 'Hi' }] });
});

test('top_p below 1 is sent', async () => {
  let body: Record<string, any> = {};
  nock(origin)
    .post('/v1/messages', (b) => ((body = b), true))
    .reply(200, message([{ type: 'text', text: 'ok' }]));

  await adapter().complete({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], params: { topP: 0.8 } });

  expect(body.top_p).toBe(0.8);
});

test('a refusal instead of the tool call returns the text, for the output validator to judge', async () => {
  nock(origin).post('/v1/messages').reply(200, message([{ type: 'text', text: 'I cannot help with that.' }], 'refusal'));

  const result = await adapter().complete({ ...request, structuredOutput: { name: 'rubric_feedback', schema } });

  expect(result).toMatchObject({ text: 'I cannot help with that.', finishReason: 'refusal' });
});

test('a 401 whose body echoes the key becomes auth, and no rendering of the error holds the key', async () => {
  nock(origin).post('/v1/messages').reply(401, errorBody('authentication_error', `invalid x-api-key ${key}`));

  const err = await providerErrorOf(adapter().complete(request));

  expect(err).toMatchObject({ code: 'auth', status: 401, message: 'The provider rejected the API key.' });
  expect(everyRenderingOf(err)).not.toContain(key);
  expect(err).not.toHaveProperty('cause');
});

test('a 429 with retry-after: 7 becomes rate_limited with retryAfterMs 7000, after exactly one request', async () => {
  const scope = nock(origin)
    .post('/v1/messages')
    .reply(429, errorBody('rate_limit_error', 'Number of requests has exceeded your rate limit'), { 'retry-after': '7' })
    .post('/v1/messages')
    .reply(200, message([{ type: 'text', text: 'a retry would have got this' }]));
  const requests = requestCounter(scope);

  const err = await providerErrorOf(adapter().complete(request));

  expect(err).toMatchObject({ code: 'rate_limited', retryAfterMs: 7000, status: 429 });
  expect(requests()).toBe(1);
  expect(scope.pendingMocks()).toHaveLength(1);
});

test.each([
  ['a billing_error', 400, errorBody('billing_error', 'Your credit balance is too low.')],
  ['an old-style credit balance 400', 400, errorBody('invalid_request_error', 'Your credit balance is too low to access the Anthropic API.')],
  ['a 402', 402, errorBody('billing_error', 'Payment required')],
  [
    'a spend-limit 429',
    429,
    { type: 'error', error: { type: 'rate_limit_error', message: 'Spend limit reached', details: { error_code: 'enforced_spend_limit_reached' } } },
  ],
])('%s becomes quota', async (_name, status, body) => {
  nock(origin).post('/v1/messages').reply(status, body, { 'retry-after': '30' });

  const err = await providerErrorOf(adapter().complete(request));

  expect(err.code).toBe('quota');
  expect(err.retryAfterMs).toBeUndefined();
});

test('a 400 about a deprecated temperature says to clear the setting, without provider text', async () => {
  nock(origin).post('/v1/messages').reply(400, errorBody('invalid_request_error', '`temperature` is deprecated for this model.'));

  const err = await providerErrorOf(adapter().complete(request));

  expect(err).toMatchObject({ code: 'bad_request', status: 400 });
  expect(err.message).toBe('The model does not accept the temperature or top_p setting; clear it for this model.');
});

test.each([
  [500, 'api_error'],
  [529, 'overloaded_error'],
])('a %i becomes unavailable after exactly one request', async (status, type) => {
  const scope = nock(origin)
    .post('/v1/messages')
    .reply(status, errorBody(type, 'Overloaded'))
    .post('/v1/messages')
    .reply(200, message([{ type: 'text', text: 'a retry would have got this' }]));
  const requests = requestCounter(scope);

  const err = await providerErrorOf(adapter().complete(request));

  expect(err).toMatchObject({ code: 'unavailable', status });
  expect(requests()).toBe(1);
  expect(scope.pendingMocks()).toHaveLength(1);
});

test('a response slower than timeoutMs becomes timeout, promptly and after one request', async () => {
  const scope = nock(origin).post('/v1/messages').delay(1000).reply(200, message([{ type: 'text', text: 'too late' }]));
  const requests = requestCounter(scope);
  const started = Date.now();

  const err = await providerErrorOf(adapter(200).complete(request));

  expect(err).toMatchObject({ code: 'timeout', message: 'The provider did not answer in time.' });
  expect(Date.now() - started).toBeLessThan(900);
  expect(requests()).toBe(1);
});

test('a connection reset becomes unavailable after one request', async () => {
  const scope = nock(origin)
    .post('/v1/messages')
    .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
    .post('/v1/messages')
    .reply(200, message([{ type: 'text', text: 'a retry would have got this' }]));
  const requests = requestCounter(scope);

  const err = await providerErrorOf(adapter().complete(request));

  expect(err.code).toBe('unavailable');
  expect(requests()).toBe(1);
  expect(scope.pendingMocks()).toHaveLength(1);
});

test("the caller's abort ends the call as a cancelled timeout", async () => {
  nock(origin).post('/v1/messages').delay(1000).reply(200, message([{ type: 'text', text: 'too late' }]));
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);

  const err = await providerErrorOf(adapter(5000).complete({ ...request, signal: controller.signal }));

  expect(err).toMatchObject({ code: 'timeout', message: 'The provider call was cancelled before it finished.' });
});

test('verify lists the models with one GET /v1/models page', async () => {
  const scope = nock(origin, { reqheaders: { authorization: `Bearer ${key}` } })
    .get('/v1/models')
    .query({ limit: '1000' })
    .reply(200, {
      data: [
        { type: 'model', id: 'claude-a', display_name: 'A', created_at: '2026-01-01T00:00:00Z' },
        { type: 'model', id: 'claude-b', display_name: 'B', created_at: '2026-01-01T00:00:00Z' },
      ],
      has_more: true,
      first_id: 'claude-a',
      last_id: 'claude-b',
    });

  await expect(adapter().verify()).resolves.toEqual({ models: ['claude-a', 'claude-b'] });
  expect(scope.isDone()).toBe(true);
  expect(unmatchedRequests()).toBe(0);
});

test('verify with a rejected key becomes auth without the key', async () => {
  nock(origin).get('/v1/models').query(true).reply(401, errorBody('authentication_error', `invalid x-api-key ${key}`));

  const err = await providerErrorOf(adapter().verify());

  expect(err.code).toBe('auth');
  expect(everyRenderingOf(err)).not.toContain(key);
});

test('ANTHROPIC_* environment variables cannot redirect the key', async () => {
  const names = ['ANTHROPIC_BASE_URL', 'ANTHROPIC_LOG'];
  Object.assign(process.env, { ANTHROPIC_BASE_URL: 'https://attacker.example', ANTHROPIC_LOG: 'debug' });
  const spies = (['log', 'debug', 'info', 'warn', 'error'] as const).map((name) => jest.spyOn(console, name).mockImplementation(() => {}));
  try {
    const scope = nock(origin).post('/v1/messages').reply(401, errorBody('authentication_error', `invalid x-api-key ${key}`));
    const err = await providerErrorOf(createProviderAdapter({ kind: 'anthropic', apiKey: key }).complete(request));
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
