import Anthropic from '@anthropic-ai/sdk';
import type { ContentBlock, MessageCreateParamsNonStreaming, Tool } from '@anthropic-ai/sdk/resources/messages';
import { callWithDeadline, normaliseAnthropicError, timeoutOf } from './errors';
import { providerFetch } from './httpTransport';
import type { CompletionRequest, CompletionResult, ConnectionSettings, ProviderAdapter } from './types';

export interface AnthropicFlavour {
  defaultBaseUrl: string;
  /** The Messages API requires max_tokens, so a request without one gets this. */
  defaultMaxTokens: number;
  sendsUser: boolean;
}

/** Builds the Anthropic adapter for one connection; nothing is sent until verify() or complete(). */
export function createAnthropicAdapter(settings: ConnectionSettings, flavour: AnthropicFlavour): ProviderAdapter {
  const timeoutMs = timeoutOf(settings);
  // Pinned so the environment (ANTHROPIC_BASE_URL, ANTHROPIC_LOG=debug, a credentials profile on
  // disk, trace content capture) can neither redirect the key, log bodies that echo it, nor copy
  // student work into traces. An explicit timeout also stops the SDK refusing large max_tokens.
  const client = new Anthropic({
    apiKey: settings.apiKey,
    baseURL: settings.baseUrl || flavour.defaultBaseUrl,
    maxRetries: 0,
    timeout: timeoutMs,
    logLevel: 'off',
    fetch: providerFetch, // Node's HTTP client: see httpTransport.ts
    openTelemetry: { traces: { contentMode: 'metadata_only' } },
  });

  return {
    async verify(signal) {
      // One page only: the limit is the API's maximum, and auto-pagination would make more calls.
      const page = await callWithDeadline({ timeoutMs, signal }, normaliseAnthropicError, (callSignal) =>
        client.models.list({ limit: 1000 }, { signal: callSignal, timeout: timeoutMs, maxRetries: 0 }),
      );
      return { models: page.data.map((model) => model.id) };
    },

    async complete(req: CompletionRequest): Promise<CompletionResult> {
      const body = requestBody(req, flavour);
      const started = performance.now();
      const message = await callWithDeadline({ timeoutMs, signal: req.signal }, normaliseAnthropicError, (callSignal) =>
        client.messages.create(body, { signal: callSignal, timeout: timeoutMs, maxRetries: 0 }),
      );
      const latencyMs = Math.max(0, Math.round(performance.now() - started));
      const usage = message.usage;
      const result: CompletionResult = {
        text: textOf(message.content, req.structuredOutput?.name),
        // Cache reads and writes are input too; counting them keeps budgets on the safe side.
        usage: {
          inputTokens: (usage?.input_tokens ?? 0) + (usage?.cache_creation_input_tokens ?? 0) + (usage?.cache_read_input_tokens ?? 0),
          outputTokens: usage?.output_tokens ?? 0,
        },
        latencyMs,
        model: message.model || req.model,
      };
      if (message.stop_reason) result.finishReason = message.stop_reason;
      return result;
    },
  };
}

// SDK 1.x dropped the sampling fields from its types (API version 2026-10-21). The API still takes
// them for models that sample; the newest models answer 400 to them, which becomes bad_request with
// a sentence telling the admin to clear the setting. So they are sent only when explicitly set.
type MessageBody = MessageCreateParamsNonStreaming & { temperature?: number; top_p?: number };

function requestBody(req: CompletionRequest, flavour: AnthropicFlavour): MessageBody {
  const { temperature, topP, maxTokens } = req.params ?? {};
  // Anthropic takes the system prompt as a field, not as a message.
  const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content);
  const body: MessageBody = {
    model: req.model,
    max_tokens: maxTokens ?? flavour.defaultMaxTokens,
    messages: req.messages
      .filter((m) => m.role !== 'system')
      .map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content })),
  };
  if (system.length > 0) body.system = system.join('\n\n');
  if (temperature !== undefined) body.temperature = temperature;
  // Claude 4.5+ refuses temperature and top_p together; top_p = 1 changes nothing, so it is left out
  // rather than turned into an error when defaults fill both.
  if (topP !== undefined && topP < 1) body.top_p = topP;
  const structured = req.structuredOutput;
  if (structured) {
    // A single tool whose input is the schema, and a tool_choice that forces it: the answer arrives
    // as the tool's input, already parsed and shaped by the schema.
    const tool: Tool = {
      name: structured.name,
      description: 'Record the answer in exactly this structure.',
      input_schema: structured.schema as Tool.InputSchema,
    };
    body.tools = [tool];
    body.tool_choice = { type: 'tool', name: structured.name };
  }
  if (flavour.sendsUser && req.user) body.metadata = { user_id: req.user };
  return body;
}

// With a forced tool the answer is the tool call's input; without one (or if the model refused
// instead) it is the text, which the output validator will then judge.
function textOf(content: ContentBlock[] | undefined, toolName: string | undefined): string {
  const blocks = content ?? [];
  if (toolName) {
    const toolUse = blocks.find((b) => b.type === 'tool_use' && b.name === toolName);
    if (toolUse && toolUse.type === 'tool_use') return JSON.stringify(toolUse.input);
  }
  return blocks
    .map((b) => (b.type === 'text' ? b.text : ''))
    .join('');
}
