import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMockLlm, mockLlmStats, MOCK_MODELS, type MockLlmOptions, type MockLlmStats } from './app';

// Starts the mock LLM on loopback. Programmatic: startMockLlm({ latencyMs: 200 }) → { url, close, stats }.
// CLI: `npm run mock-llm` (MOCK_LLM_PORT, default 4010; MOCK_LLM_LATENCY_MS, default 300; also
// MOCK_LLM_JITTER_MS, MOCK_LLM_FAIL_RATE, MOCK_LLM_SEED, MOCK_LLM_QUIET=1).

export interface StartMockLlmOptions extends MockLlmOptions {
  /** Default 0: any free port (see `url`). The CLI defaults to 4010. */
  port?: number;
  /** Loopback only: 127.0.0.1 (default), ::1 or localhost. */
  host?: string;
}

export interface RunningMockLlm {
  /** The OpenAI base URL, e.g. http://127.0.0.1:4010/v1 */
  url: string;
  port: number;
  /** Stops listening and drops open (keep-alive) connections; resolves once the port is free. */
  close(): Promise<void>;
  /** Live statistics (the object GET /_stats reports). */
  stats: MockLlmStats;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startMockLlm(opts: StartMockLlmOptions = {}): Promise<RunningMockLlm> {
  const { port = 0, host = '127.0.0.1', ...appOptions } = opts;
  if (!LOOPBACK_HOSTS.has(host)) throw new Error(`The mock LLM listens on loopback only (127.0.0.1, ::1 or localhost), not ${host}.`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError('port must be an integer from 0 to 65535.');
  const app = createMockLlm(appOptions);
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostInUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostInUrl}:${address.port}/v1`,
    port: address.port,
    stats: mockLlmStats(app),
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number (got "${raw}").`);
  return value;
}

async function main(): Promise<void> {
  const port = envNumber('MOCK_LLM_PORT', 4010);
  const latencyMs = envNumber('MOCK_LLM_LATENCY_MS', 300);
  const jitterMs = envNumber('MOCK_LLM_JITTER_MS', 0);
  const failRate = envNumber('MOCK_LLM_FAIL_RATE', 0);
  const seed = envNumber('MOCK_LLM_SEED', 1);
  const quiet = ['1', 'true', 'yes'].includes((process.env.MOCK_LLM_QUIET ?? '').toLowerCase());
  const mock = await startMockLlm({
    port,
    latencyMs,
    jitterMs,
    failRate,
    seed,
    ...(quiet ? {} : { log: (line: string) => process.stdout.write(`[mock-llm] ${line}\n`) }),
  });
  const origin = mock.url.replace(/\/v1$/, '');
  process.stdout.write(
    [
      `Mock LLM (OpenAI-compatible) listening on ${mock.url}`,
      `  latency ${latencyMs} ms${jitterMs ? ` ± ${jitterMs} ms` : ''}${failRate ? `, ${Math.round(failRate * 100)}% of completions fail with 500` : ''}, seed ${seed}`,
      '',
      'Add it in FeedForward as a provider connection (local URLs work when NODE_ENV is not production):',
      '  Provider:  OpenAI-compatible endpoint',
      `  Base URL:  ${mock.url}`,
      '  API key:   mock-key   (any non-empty value works)',
      `  Models:    ${MOCK_MODELS.join(', ')}`,
      '',
      'or through the configuration API:',
      `  POST /api/v1/providers {"kind":"openai_compatible","label":"Mock LLM","apiKey":"mock-key","baseUrl":"${mock.url}"}`,
      '',
      'Try it:',
      `  curl -s ${mock.url}/models -H 'Authorization: Bearer mock-key'`,
      `  Stats: GET ${origin}/_stats   reset: POST ${origin}/_stats/reset`,
      '  Markers in the last user message: [[mock:invalid-json]] [[mock:429]] [[mock:500]] [[mock:slow]]',
      '',
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void mock.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    const e = err as NodeJS.ErrnoException;
    if (e?.code === 'EADDRINUSE') process.stderr.write(`mock-llm: port ${process.env.MOCK_LLM_PORT ?? 4010} is in use; set MOCK_LLM_PORT to another port.\n`);
    else process.stderr.write(`mock-llm: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
