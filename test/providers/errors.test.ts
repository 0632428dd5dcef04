import * as AnthropicSdk from '@anthropic-ai/sdk';
import * as OpenAISdk from 'openai';
import { ProviderError, normaliseAnthropicError, normaliseOpenAIError, retryAfterMs } from '../../src/providers';
import { timeoutOf } from '../../src/providers/errors';

// The translators in isolation, for the cases the HTTP tests do not reach.

const headers = (values: Record<string, string>) => new Headers(values);
const openaiError = (status: number, error: object, extra: Record<string, string> = {}) =>
  OpenAISdk.APIError.generate(status, { error }, undefined, headers(extra));
const anthropicError = (status: number, error: object, extra: Record<string, string> = {}) =>
  AnthropicSdk.APIError.generate(status, { type: 'error', error }, undefined, headers(extra));

describe('retryAfterMs', () => {
  test('reads seconds, milliseconds and HTTP dates', () => {
    expect(retryAfterMs(headers({ 'retry-after': '7' }))).toBe(7000);
    expect(retryAfterMs(headers({ 'retry-after': '0.5' }))).toBe(500);
    expect(retryAfterMs(headers({ 'retry-after-ms': '1234.2', 'retry-after': '7' }))).toBe(1235);
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    expect(retryAfterMs(headers({ 'retry-after': inTenSeconds }))).toBeGreaterThan(8000);
    expect(retryAfterMs(headers({ 'retry-after': new Date(Date.now() - 60_000).toUTCString() }))).toBe(0);
  });

  test('ignores what it cannot read', () => {
    expect(retryAfterMs(headers({}))).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after': '-3' }))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe('status mapping (both SDKs)', () => {
  test.each([
    [401, 'auth'],
    [403, 'auth'],
    [408, 'timeout'],
    [400, 'bad_request'],
    [404, 'bad_request'],
    [409, 'bad_request'],
    [413, 'bad_request'],
    [422, 'bad_request'],
    [402, 'quota'],
    [429, 'rate_limited'],
    [500, 'unavailable'],
    [502, 'unavailable'],
    [503, 'unavailable'],
    [504, 'unavailable'],
    [529, 'unavailable'],
  ] as const)('%i → %s', (status, code) => {
    expect(normaliseOpenAIError(openaiError(status, { message: 'x' }))).toMatchObject({ code, status });
    expect(normaliseAnthropicError(anthropicError(status, { type: 'api_error', message: 'x' }))).toMatchObject({ code, status });
  });

  test('a 503 with retry-after keeps the hint for the retry layer', () => {
    expect(normaliseOpenAIError(openaiError(503, {}, { 'retry-after': '3' }))).toMatchObject({ code: 'unavailable', retryAfterMs: 3000 });
  });
});

describe('OpenAI specifics', () => {
  test.each(['insufficient_quota', 'billing_hard_limit_reached', 'billing_not_active'])('a 429 %s is quota', (code) => {
    expect(normaliseOpenAIError(openaiError(429, { code, type: code })).code).toBe('quota');
  });

  test('a 400 on temperature (reasoning models) says to clear the setting', () => {
    const err = normaliseOpenAIError(openaiError(400, { message: "Unsupported value: 'temperature'", param: 'temperature' }));
    expect(err).toMatchObject({ code: 'bad_request', message: 'The model does not accept the temperature or top_p setting; clear it for this model.' });
  });

  test('SDK-level timeouts, aborts and connection errors', () => {
    expect(normaliseOpenAIError(new OpenAISdk.APIConnectionTimeoutError()).code).toBe('timeout');
    expect(normaliseOpenAIError(new OpenAISdk.APIUserAbortError()).code).toBe('timeout');
    expect(normaliseOpenAIError(new OpenAISdk.APIConnectionError({ message: 'refused' })).code).toBe('unavailable');
    expect(normaliseOpenAIError(new TypeError('boom')).code).toBe('unavailable');
  });
});

describe('Anthropic specifics', () => {
  test('overloaded 529 is unavailable, and a ramp-limit 429 stays a rate limit', () => {
    expect(normaliseAnthropicError(anthropicError(529, { type: 'overloaded_error', message: 'Overloaded' })).code).toBe('unavailable');
    const ramp = anthropicError(429, { type: 'rate_limit_error', message: 'x', details: { error_code: 'ramp_limit_exceeded' } }, { 'retry-after': '2' });
    expect(normaliseAnthropicError(ramp)).toMatchObject({ code: 'rate_limited', retryAfterMs: 2000 });
  });

  test('SDK-level timeouts and connection errors', () => {
    expect(normaliseAnthropicError(new AnthropicSdk.APIConnectionTimeoutError()).code).toBe('timeout');
    expect(normaliseAnthropicError(new AnthropicSdk.APIConnectionError({ message: 'reset' })).code).toBe('unavailable');
  });
});

describe('abort causes win over what the SDK made of them', () => {
  test.each([
    [normaliseOpenAIError, new OpenAISdk.APIUserAbortError()],
    [normaliseAnthropicError, new AnthropicSdk.APIUserAbortError()],
  ])('deadline → timeout; caller → timeout saying cancelled', (normalise, sdkError) => {
    expect(normalise(sdkError, { timedOut: true, cancelled: false }).message).toBe('The provider did not answer in time.');
    expect(normalise(sdkError, { timedOut: false, cancelled: true })).toMatchObject({
      code: 'timeout',
      message: 'The provider call was cancelled before it finished.',
    });
  });
});

test('a ProviderError passes through unchanged, and serialises only safe fields', () => {
  const original = new ProviderError('rate_limited', { status: 429, retryAfterMs: 100 });
  expect(normaliseOpenAIError(original)).toBe(original);
  expect(JSON.parse(JSON.stringify(original))).toEqual({
    name: 'ProviderError',
    code: 'rate_limited',
    message: 'The provider is rate limiting requests; try again later.',
    status: 429,
    retryAfterMs: 100,
  });
});

test('the deadline is the connection timeout, 60 s when unset or unusable, and at most 10 minutes', () => {
  expect(timeoutOf({ timeoutMs: 200 })).toBe(200);
  expect(timeoutOf({})).toBe(60_000);
  expect(timeoutOf({ timeoutMs: -5 })).toBe(60_000);
  expect(timeoutOf({ timeoutMs: Number.NaN })).toBe(60_000);
  expect(timeoutOf({ timeoutMs: 1e12 })).toBe(600_000);
});
