import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { callWithDeadline, normaliseOpenAIError, timeoutOf } from './errors';
import { providerFetch } from './httpTransport';
import {
  ProviderError,
  type ChatMessage,
  type CompletionRequest,
  type CompletionResult,
  type ConnectionSettings,
  type ProviderAdapter,
  type StructuredOutput,
} from './types';

// One adapter for every kind spoken through the openai SDK: OpenAI itself, the Hugging Face router
// and any OpenAI-compatible endpoint (Azure OpenAI v1, OpenRouter, Ollama, vLLM). The kinds differ
// only in the options below, which the registry chooses.

export interface OpenAIFlavour {
  /** Used when the connection has no base URL; null means one is required. */
  defaultBaseUrl: string | null;
  /** 'json_schema' (strict) where the provider enforces schemas; 'json_object' plus the schema in the prompt elsewhere. */
  structuredOutput: 'json_schema' | 'json_object';
  /** OpenAI deprecated max_tokens (reasoning models reject it); compatible servers widely know only max_tokens. */
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
  sendsUser: boolean;
  sendsOrganization: boolean;
}

/** Builds the openai-SDK adapter for one connection; nothing is sent until verify() or complete(). */
export function createOpenAIAdapter(settings: ConnectionSettings, flavour: OpenAIFlavour): ProviderAdapter {
  const baseURL = settings.baseUrl || flavour.defaultBaseUrl;
  if (!baseURL) throw new ProviderError('bad_request', { message: 'This provider connection needs a base URL.' });
  const timeoutMs = timeoutOf(settings);
  // Every option the SDK would otherwise read from the environment is pinned, so OPENAI_BASE_URL,
  // OPENAI_ORG_ID or OPENAI_LOG=debug (which logs response bodies that can echo the key) cannot
  // redirect the key or leak it. maxRetries: 0 because the job layer owns retries.
  const client = new OpenAI({
    apiKey: settings.apiKey,
    adminAPIKey: null,
    webhookSecret: null,
    baseURL,
    organization: flavour.sendsOrganization ? settings.organization || null : null,
    project: flavour.sendsOrganization ? settings.project || null : null,
    maxRetries: 0,
    timeout: timeoutMs,
    logLevel: 'off',
    fetch: providerFetch, // Node's HTTP client: see httpTransport.ts
  });

  return {
    async verify(signal) {
      const page = await callWithDeadline({ timeoutMs, signal }, normaliseOpenAIError, (callSignal) =>
        client.models.list({ signal: callSignal, timeout: timeoutMs, maxRetries: 0 }),
      );
      return { models: page.data.map((model) => model.id) };
    },

    async complete(req: CompletionRequest): Promise<CompletionResult> {
      const body = requestBody(req, flavour);
      const started = performance.now();
      const completion = await callWithDeadline({ timeoutMs, signal: req.signal }, normaliseOpenAIError, (callSignal) =>
        client.chat.completions.create(body, { signal: callSignal, timeout: timeoutMs, maxRetries: 0 }),
      );
      const latencyMs = Math.max(0, Math.round(performance.now() - started));
      const choice = completion.choices?.[0];
      if (!choice) throw new ProviderError('unavailable'); // a 200 without an answer is the provider's fault
      const result: CompletionResult = {
        text: choice.message?.content ?? '',
        // Some compatible servers omit usage; 0 is then all we know.
        usage: { inputTokens: completion.usage?.prompt_tokens ?? 0, outputTokens: completion.usage?.completion_tokens ?? 0 },
        latencyMs,
        model: completion.model || req.model,
      };
      const finishReason = choice.message?.refusal ? 'refusal' : choice.finish_reason;
      if (finishReason) result.finishReason = finishReason;
      return result;
    },
  };
}

function requestBody(req: CompletionRequest, flavour: OpenAIFlavour): ChatCompletionCreateParamsNonStreaming {
  const { temperature, topP, maxTokens } = req.params ?? {};
  const structured = req.structuredOutput;
  const messages = structured && flavour.structuredOutput === 'json_object' ? withSchemaInstructions(req.messages, structured) : req.messages;
  const body: ChatCompletionCreateParamsNonStreaming = {
    model: req.model,
    messages: messages.map((m): ChatCompletionMessageParam => ({ role: m.role, content: m.content })),
  };
  if (temperature !== undefined) body.temperature = temperature;
  if (topP !== undefined) body.top_p = topP;
  if (maxTokens !== undefined) body[flavour.maxTokensField] = maxTokens;
  if (structured) {
    body.response_format =
      flavour.structuredOutput === 'json_schema'
        ? { type: 'json_schema', json_schema: { name: structured.name, schema: structured.schema, strict: true } }
        : { type: 'json_object' };
  }
  if (flavour.sendsUser && req.user) body.user = req.user;
  return body;
}

// json_object mode only promises valid JSON, so the schema travels in the prompt (OpenAI-style
// servers also require the word "JSON" in it). It joins the first system message rather than adding
// a second one, because several open models' chat templates reject more than one system turn.
function withSchemaInstructions(messages: ChatMessage[], structured: StructuredOutput): ChatMessage[] {
  const instructions =
    `Reply with one JSON object and nothing else. It must follow this JSON Schema (named "${structured.name}"):\n` +
    JSON.stringify(structured.schema);
  const first = messages[0];
  if (first?.role === 'system') {
    return [{ role: 'system', content: `${first.content}\n\n${instructions}` }, ...messages.slice(1)];
  }
  return [{ role: 'system', content: instructions }, ...messages];
}
