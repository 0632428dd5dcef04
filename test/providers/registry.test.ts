import nock from 'nock';
import { PROVIDER_KINDS, createProviderAdapter, isProviderKind, paramsProblem, providerKindSpec, type ProviderKind } from '../../src/providers';
import { providerErrorOf, useNock } from './support';

const { unmatchedRequests } = useNock();

const KINDS: ProviderKind[] = ['openai', 'anthropic', 'huggingface', 'openai_compatible'];

describe('provider kinds are an allowlist', () => {
  test.each(KINDS)('%s is a kind with its own spec', (kind) => {
    expect(isProviderKind(kind)).toBe(true);
    expect(providerKindSpec(kind).kind).toBe(kind);
  });

  test.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'OpenAI', ' openai', 'openai ', '', 'azure'])('%j is not a kind', (value) => {
    expect(isProviderKind(value)).toBe(false);
  });

  test.each([undefined, null, 42, {}, ['openai']])('%j (not a string) is not a kind', (value) => {
    expect(isProviderKind(value)).toBe(false);
  });

  test('providerKindSpec refuses what is not a kind', () => {
    expect(() => providerKindSpec('__proto__' as ProviderKind)).toThrow('Unknown provider kind.');
  });

  test('the registry cannot be changed at run time', () => {
    expect(Object.isFrozen(PROVIDER_KINDS)).toBe(true);
    expect(Object.isFrozen(PROVIDER_KINDS.openai)).toBe(true);
    expect(Object.isFrozen(PROVIDER_KINDS.openai.params.temperature)).toBe(true);
  });
});

describe('key formats', () => {
  const goodKeys: Record<ProviderKind, string[]> = {
    openai: ['sk-abcdefghijklmnopqrstuvwxyz012345', 'sk-proj-Ab_cd-EF0123456789xyzXYZ'],
    anthropic: ['sk-ant-api03-Ab_cd-EF0123456789xyz'],
    huggingface: ['hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567'],
    openai_compatible: ['ollama', 'x', 'azure-key/with+symbols=='],
  };
  const wrongPrefix: Record<ProviderKind, string[]> = {
    openai: ['pk-abcdefghijklmnopqrstuvwxyz', 'hf_abcdefghijklmnopqrstuvwxyz', 'sk-ant-api03-abcdefghijklmnopqrstu', 'sk-short'],
    anthropic: ['sk-abcdefghijklmnopqrstuvwxyz012345', 'sk-proj-abcdefghijklmnopqrstuvwxyz', 'ant-abcdefghijklmnopqrstuvwxyz'],
    huggingface: ['sk-abcdefghijklmnopqrstuvwxyz012345', 'HF_abcdefghijklmnopqrstuvwxyz', 'hf-abcdefghijklmnopqrstuvwxyz'],
    openai_compatible: ['x'.repeat(513)],
  };

  describe.each(KINDS)('%s', (kind) => {
    const spec = providerKindSpec(kind);
    const valid = goodKeys[kind][0]!;

    test.each(goodKeys[kind])('accepts %s', (key) => {
      expect(spec.keyProblem(key)).toBeNull();
    });

    test.each([
      ['empty', ''],
      ['whitespace only', '   '],
      ['a trailing newline', `${valid}\n`],
      ['an inner space', `${valid.slice(0, 8)} ${valid.slice(8)}`],
      ['a leading tab', `\t${valid}`],
      ['a non-ASCII character', `${valid}é`],
    ])('rejects a key that is %s, without echoing it', (_name, key) => {
      const problem = spec.keyProblem(key);
      expect(problem).toEqual(expect.any(String));
      if (key.trim()) expect(problem).not.toContain(key.trim());
    });

    test.each(wrongPrefix[kind])('rejects %s, without echoing it', (key) => {
      const problem = spec.keyProblem(key);
      expect(problem).toEqual(expect.any(String));
      expect(problem).not.toContain(key);
    });

    test('has a hint that names no key', () => {
      expect(spec.keyHint.length).toBeGreaterThan(0);
    });
  });
});

describe('parameter ranges', () => {
  test('OpenAI-style kinds allow temperature up to 2, Anthropic up to 1', () => {
    expect(PROVIDER_KINDS.openai.params.temperature).toMatchObject({ min: 0, max: 2, default: 0.3 });
    expect(PROVIDER_KINDS.huggingface.params.temperature.max).toBe(2);
    expect(PROVIDER_KINDS.openai_compatible.params.temperature.max).toBe(2);
    expect(PROVIDER_KINDS.anthropic.params.temperature).toMatchObject({ min: 0, max: 1 });
  });

  test.each(KINDS)('%s: top_p is 0–1 and max tokens a whole number from 1 to 128000', (kind) => {
    const { params } = providerKindSpec(kind);
    expect(params.topP).toMatchObject({ min: 0, max: 1 });
    expect(params.maxTokens).toMatchObject({ min: 1, max: 128_000, integer: true });
    for (const spec of Object.values(params)) {
      expect(spec.default).toBeGreaterThanOrEqual(spec.min);
      expect(spec.default).toBeLessThanOrEqual(spec.max);
    }
  });

  test.each([
    ['anthropic', { temperature: 1.5 }],
    ['openai', { temperature: 2.1 }],
    ['openai', { temperature: -0.1 }],
    ['openai', { temperature: Number.NaN }],
    ['openai', { temperature: Number.POSITIVE_INFINITY }],
    ['openai', { topP: 1.01 }],
    ['openai', { maxTokens: 0 }],
    ['openai', { maxTokens: 10.5 }],
    ['openai', { maxTokens: 128_001 }],
    ['openai', { temperature: '0.7' as unknown as number }],
  ] as const)('%s refuses %j', (kind, params) => {
    expect(paramsProblem(providerKindSpec(kind), params)).toEqual(expect.any(String));
  });

  test.each([
    ['anthropic', { temperature: 1, topP: 0, maxTokens: 1 }],
    ['openai', { temperature: 2, topP: 1, maxTokens: 128_000 }],
    ['huggingface', {}],
  ] as const)('%s accepts %j', (kind, params) => {
    expect(paramsProblem(providerKindSpec(kind), params)).toBeNull();
  });
});

describe('what each kind sends', () => {
  test('only OpenAI takes an organization and project; OpenAI and Anthropic take the user id', () => {
    expect(KINDS.filter((kind) => PROVIDER_KINDS[kind].supportsOrganization)).toEqual(['openai']);
    expect(KINDS.filter((kind) => PROVIDER_KINDS[kind].acceptsUserField)).toEqual(['openai', 'anthropic']);
  });

  test('default base URLs, and none for openai_compatible', () => {
    expect(PROVIDER_KINDS.openai.defaultBaseUrl).toBe('https://api.openai.com/v1');
    expect(PROVIDER_KINDS.anthropic.defaultBaseUrl).toBe('https://api.anthropic.com');
    expect(PROVIDER_KINDS.huggingface.defaultBaseUrl).toBe('https://router.huggingface.co/v1');
    expect(PROVIDER_KINDS.openai_compatible.defaultBaseUrl).toBeNull();
  });
});

describe('adapters refuse bad input before any request', () => {
  const request = { model: 'm', messages: [{ role: 'user' as const, content: 'Hi' }] };

  test.each(KINDS)('%s: an out-of-range parameter is bad_request and sends nothing', async (kind) => {
    const scope = nock(/.*/).post(/.*/).reply(200, {});
    const adapter = createProviderAdapter({ kind, apiKey: 'sk-ant-whatever-0123456789', baseUrl: 'https://llm.example.edu/v1' });

    const err = await providerErrorOf(adapter.complete({ ...request, params: { temperature: Number.NaN } }));

    expect(err.code).toBe('bad_request');
    expect(scope.isDone()).toBe(false);
    expect(unmatchedRequests()).toBe(0);
  });

  test.each(['has space', 'x'.repeat(65), '', 'ünïcode'])('a structured output named %j is bad_request and sends nothing', async (name) => {
    const scope = nock(/.*/).post(/.*/).reply(200, {});
    const adapter = createProviderAdapter({ kind: 'openai', apiKey: 'sk-abcdefghijklmnopqrstuvwxyz' });

    const err = await providerErrorOf(adapter.complete({ ...request, params: {}, structuredOutput: { name, schema: { type: 'object' } } }));

    expect(err.code).toBe('bad_request');
    expect(scope.isDone()).toBe(false);
  });
});
