import nock from 'nock';
import { forgetProviderAdapters, withProviderAdapter } from '../../src/commands/providerCalls';
import type { ProviderAdapter } from '../../src/providers/types';
import { providerBinding } from '../../src/secrets/storedSecrets';
import { seal } from '../../src/secrets/vault';
import { createTestContext, TestContext } from '../support/context';
import { createProvider } from '../support/factories';
import { useNock } from './support';

// The adapter (SDK client) is kept between calls on the same connection version, not rebuilt per
// call; a new key seals a new secret, so the next call reveals and sends the new key.

const { unmatchedRequests } = useNock();

const completion = { id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok', refusal: null }, finish_reason: 'stop', logprobs: null }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
const request = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }], params: { temperature: 0, maxTokens: 10 } };

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx.close();
  nock.restore();
});

test('the same connection reuses its adapter; a replaced key gets a new adapter that sends the new key', async () => {
  const { provider, apiKey } = await createProvider(ctx.keyring);
  const seen: string[] = [];
  nock('https://api.openai.com')
    .matchHeader('authorization', (value) => (seen.push(value), true))
    .post('/v1/chat/completions')
    .times(3)
    .reply(200, completion);
  const use = (p = provider) => withProviderAdapter(ctx.keyring, p, async (adapter) => (await adapter.complete(request), adapter));

  const first: ProviderAdapter = await use();
  const second: ProviderAdapter = await use();
  expect(second).toBe(first);

  const newKey = `sk-test-replaced-${Date.now()}`;
  await provider.update({ apiConfig: { ...provider.apiConfig, secret: seal(ctx.keyring, providerBinding(provider), newKey) } });
  const third: ProviderAdapter = await use(provider);
  expect(third).not.toBe(first);
  expect(seen).toEqual([`Bearer ${apiKey}`, `Bearer ${apiKey}`, `Bearer ${newKey}`]);
  expect(unmatchedRequests()).toBe(0);
});

test('a disabled connection is refused even when its adapter is cached', async () => {
  const { provider } = await createProvider(ctx.keyring);
  nock('https://api.openai.com').post('/v1/chat/completions').reply(200, completion);
  await withProviderAdapter(ctx.keyring, provider, (adapter) => adapter.complete(request));
  await provider.update({ disabled: true });
  await expect(withProviderAdapter(ctx.keyring, provider, (adapter) => adapter.complete(request))).rejects.toMatchObject({ code: 'disabled' });
});

test('forgetProviderAdapters (called by updateConnection and deleteConnection) drops the cached adapter and the key it holds', async () => {
  const { provider } = await createProvider(ctx.keyring);
  nock('https://api.openai.com').post('/v1/chat/completions').times(2).reply(200, completion);
  const use = () => withProviderAdapter(ctx.keyring, provider, async (adapter) => (await adapter.complete(request), adapter));
  const first = await use();
  expect(await withProviderAdapter(ctx.keyring, provider, async (adapter) => adapter)).toBe(first);
  forgetProviderAdapters(provider.id);
  expect(await use()).not.toBe(first);
});
