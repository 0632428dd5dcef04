import express, { type NextFunction, type Request, type Response } from 'express';
import { findCriteria, textOf, type ChatMessageLike } from './criteria';
import { buildFeedback, proseFeedback } from './feedback';
import { keyHash, unit } from './random';

// A local, OpenAI-compatible chat-completions server that answers with rubric feedback JSON. No key,
// no network, no cost: for trying the feedback flow, benchmarks and browser tests.
//
// Markers in the last user message (for tests and demos):
//   [[mock:invalid-json]]  prose instead of JSON        [[mock:429]]  429 with retry-after: 1
//   [[mock:500]]           500                           [[mock:slow]] slowMs (5 s) instead of latencyMs
//
// It never logs or stores request bodies or keys; per-key statistics are keyed by keyHash(key).

export interface MockLlmOptions {
  /** Delay before each chat completion answers, in ms. Default 0. */
  latencyMs?: number;
  /** Each delay is latencyMs ± up to jitterMs (uniform, deterministic under `seed`). Default 0. */
  jitterMs?: number;
  /** Fraction 0..1 of chat completions that answer 500 (deterministic under `seed`). Default 0. */
  failRate?: number;
  /** Seed for jitter, failures and scores. Default 1. */
  seed?: number;
  /** The delay [[mock:slow]] asks for, in ms. Default 5000. */
  slowMs?: number;
  /** Receives one line per request: method, path, status, duration, model. Never bodies or keys. */
  log?: (line: string) => void;
}

export interface MockLlmStats {
  /** Requests to /v1/* since start or the last reset (including rejected ones). */
  requests: number;
  /** Requests being handled right now. */
  inFlight: number;
  /** The most requests ever handled at the same time. */
  inFlightMax: number;
  /** The same per API key, keyed by keyHash(key) (never the key itself). */
  inFlightMaxByKey: Record<string, number>;
}

export const MOCK_MODELS = ['mock-feedback-1', 'mock-feedback-fast'] as const;
export const MOCK_MARKERS = {
  invalidJson: '[[mock:invalid-json]]',
  rateLimited: '[[mock:429]]',
  serverError: '[[mock:500]]',
  slow: '[[mock:slow]]',
} as const;

export { keyHash };

const MODELS_CREATED = 1_735_689_600; // 2025-01-01, fixed so responses are reproducible
const statsByApp = new WeakMap<express.Express, MockLlmStats>();

/** The live statistics of an app made by createMockLlm (the same object /_stats reports). */
export function mockLlmStats(app: express.Express): MockLlmStats {
  const stats = statsByApp.get(app);
  if (!stats) throw new Error('This app was not made by createMockLlm().');
  return stats;
}

export function createMockLlm(opts: MockLlmOptions = {}): express.Express {
  const latencyMs = nonNegative('latencyMs', opts.latencyMs ?? 0);
  const jitterMs = nonNegative('jitterMs', opts.jitterMs ?? 0);
  const slowMs = nonNegative('slowMs', opts.slowMs ?? 5000);
  const failRate = opts.failRate ?? 0;
  if (!(failRate >= 0 && failRate <= 1)) throw new RangeError('failRate must be between 0 and 1.');
  const seed = opts.seed ?? 1;
  if (!Number.isFinite(seed)) throw new RangeError('seed must be a finite number.');
  const log = opts.log;

  const stats: MockLlmStats = { requests: 0, inFlight: 0, inFlightMax: 0, inFlightMaxByKey: {} };
  const inFlightByKey = new Map<string, number>();
  let completionNumber = 0;

  const app = express();
  statsByApp.set(app, stats);
  app.disable('x-powered-by');
  app.set('etag', false);

  if (log) {
    app.use((req, res, next) => {
      const started = performance.now();
      res.once('finish', () => {
        // Only our own model names: anything else the client sent is part of its body.
        const sent: unknown = res.locals.model;
        const model = typeof sent === 'string' ? ` model=${(MOCK_MODELS as readonly string[]).includes(sent) ? sent : 'other'}` : '';
        log(`${req.method} ${req.path} ${res.statusCode} ${Math.round(performance.now() - started)}ms${model}`);
      });
      next();
    });
  }

  app.get('/_stats', (_req, res) => {
    res.json(snapshot(stats));
  });
  app.post('/_stats/reset', (_req, res) => {
    stats.requests = 0;
    stats.inFlightMax = stats.inFlight;
    for (const id of Object.keys(stats.inFlightMaxByKey)) delete stats.inFlightMaxByKey[id];
    for (const [id, count] of inFlightByKey) if (count > 0) stats.inFlightMaxByKey[id] = count;
    res.json(snapshot(stats));
  });

  // Every /v1 request: counted, tracked while in flight, and refused without a bearer key.
  app.use('/v1', (req, res, next) => {
    stats.requests += 1;
    const key = bearerKey(req);
    const id = key === null ? null : keyHash(key);
    stats.inFlight += 1;
    stats.inFlightMax = Math.max(stats.inFlightMax, stats.inFlight);
    if (id !== null) {
      const now = (inFlightByKey.get(id) ?? 0) + 1;
      inFlightByKey.set(id, now);
      stats.inFlightMaxByKey[id] = Math.max(stats.inFlightMaxByKey[id] ?? 0, now);
    }
    res.once('close', () => {
      stats.inFlight -= 1;
      if (id !== null) {
        const left = (inFlightByKey.get(id) ?? 1) - 1;
        if (left > 0) inFlightByKey.set(id, left);
        else inFlightByKey.delete(id);
      }
    });
    if (key === null) {
      sendError(res, 401, {
        message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      });
      return;
    }
    next();
  });

  app.get('/v1/models', (_req, res) => {
    res.json({ object: 'list', data: MOCK_MODELS.map(modelObject) });
  });

  app.get('/v1/models/:id', (req, res) => {
    const id = req.params.id;
    if (!(MOCK_MODELS as readonly string[]).includes(id)) {
      sendError(res, 404, { message: `The model '${id.slice(0, 64)}' does not exist`, type: 'invalid_request_error', code: 'model_not_found' });
      return;
    }
    res.json(modelObject(id));
  });

  app.post('/v1/chat/completions', express.json({ limit: '10mb' }), (req, res) => {
    void (async () => {
      const body: unknown = req.body;
      const problem = requestProblem(body);
      if (problem) {
        sendError(res, 400, { message: problem.message, type: 'invalid_request_error', param: problem.param });
        return;
      }
      const request = body as ChatRequest;
      res.locals.model = request.model;
      completionNumber += 1;
      const n = completionNumber;
      const messages = request.messages;
      const lastUser = [...messages].reverse().find((m) => m.role === 'user');
      const lastUserText = lastUser ? textOf(lastUser.content) : '';
      const has = (marker: string) => lastUserText.includes(marker);

      function completion() {
        const criteria = findCriteria(messages, request.response_format);
        let submission = lastUserText;
        for (const marker of Object.values(MOCK_MARKERS)) submission = submission.replaceAll(marker, '');
        submission = submission.trim();
        const content = has(MOCK_MARKERS.invalidJson) ? proseFeedback(criteria) : JSON.stringify(buildFeedback({ criteria, submission, seed, requestNumber: n }));
        const promptChars = messages.reduce((sum, m) => sum + textOf(m.content).length, 0);
        const promptTokens = Math.max(1, Math.ceil(promptChars / 4));
        const completionTokens = Math.max(1, Math.ceil(content.length / 4));
        return {
          id: `chatcmpl-mock-${seed}-${n}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          system_fingerprint: 'fp_mock',
          choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
        };
      }
      const arrived = performance.now();
      const wait = has(MOCK_MARKERS.slow) ? slowMs : Math.max(0, latencyMs + (unit(seed, 'latency', n) * 2 - 1) * jitterMs);
      const failing = has(MOCK_MARKERS.rateLimited) || has(MOCK_MARKERS.serverError) || (failRate > 0 && unit(seed, 'fail', n) < failRate);
      // The answer is written before the wait, so that it arrives `wait` after the request, as a
      // provider's does (its latency includes the generation), not `wait` plus the mock's own work.
      const answer = failing ? null : completion();
      if (!(await delay(res, wait - (performance.now() - arrived)))) return; // the client went away

      if (answer) res.json(answer);
      else if (has(MOCK_MARKERS.rateLimited)) {
        res.setHeader('retry-after', '1');
        sendError(res, 429, {
          message: 'Rate limit reached for requests (mock). Please try again in 1s.',
          type: 'requests',
          code: 'rate_limit_exceeded',
        });
      } else sendError(res, 500, { message: 'The server had an error while processing your request (mock).', type: 'server_error' });
    })().catch(() => {
      if (!res.headersSent) sendError(res, 500, { message: 'The mock failed unexpectedly.', type: 'server_error' });
    });
  });

  app.use((_req, res) => {
    sendError(res, 404, { message: 'Unknown endpoint (the mock serves GET /v1/models and POST /v1/chat/completions).', type: 'invalid_request_error' });
  });

  // Body-parser and other errors: answered in OpenAI's shape, never logged (a parse error can quote the body).
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof (err as { status?: unknown })?.status === 'number' ? (err as { status: number }).status : 500;
    if (res.headersSent) return;
    if (status === 413) sendError(res, 413, { message: 'The request body is too large.', type: 'invalid_request_error' });
    else if (status >= 400 && status < 500) {
      sendError(res, 400, {
        message: "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
        type: 'invalid_request_error',
      });
    } else sendError(res, 500, { message: 'The mock failed unexpectedly.', type: 'server_error' });
  });

  return app;
}

interface ChatRequest {
  model: string;
  messages: Array<ChatMessageLike & { role: string }>;
  response_format?: unknown;
}

function requestProblem(body: unknown): { message: string; param: string | null } | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { message: 'The request body must be a JSON object.', param: null };
  }
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model.length === 0) return { message: "you must provide a model parameter", param: 'model' };
  if (!Array.isArray(b.messages) || b.messages.length === 0) {
    return { message: "'messages' must be a non-empty array.", param: 'messages' };
  }
  for (const [i, m] of b.messages.entries()) {
    if (typeof m !== 'object' || m === null || typeof (m as { role?: unknown }).role !== 'string') {
      return { message: `Invalid value for 'messages[${i}]': each message needs a role.`, param: `messages[${i}]` };
    }
  }
  if (b.stream === true) return { message: 'The mock does not support stream: true.', param: 'stream' };
  return null;
}

function bearerKey(req: Request): string | null {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return null;
  const m = /^Bearer\s+(\S.*)$/i.exec(header.trim());
  const key = m?.[1]?.trim();
  return key ? key : null;
}

function modelObject(id: string) {
  return { id, object: 'model', created: MODELS_CREATED, owned_by: 'feedforward' };
}

function sendError(res: Response, status: number, error: { message: string; type: string; param?: string | null; code?: string | null }): void {
  res.status(status).json({ error: { message: error.message, type: error.type, param: error.param ?? null, code: error.code ?? null } });
}

/** Waits at least `ms` (timers may fire a little early); false if the response closed meanwhile. */
function delay(res: Response, ms: number): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!res.writableEnded && !res.destroyed);
  const until = performance.now() + ms;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onClose = () => {
      if (timer) clearTimeout(timer);
      resolve(false);
    };
    const tick = () => {
      const left = until - performance.now();
      if (left > 0) {
        timer = setTimeout(tick, Math.ceil(left));
        return;
      }
      res.off('close', onClose);
      resolve(!res.destroyed);
    };
    res.once('close', onClose);
    timer = setTimeout(tick, Math.ceil(ms));
  });
}

function snapshot(stats: MockLlmStats): MockLlmStats {
  return { ...stats, inFlightMaxByKey: { ...stats.inFlightMaxByKey } };
}

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${name} must be a number of milliseconds, 0 or more.`);
  return value;
}
