import path from 'node:path';
import { startDemoStack } from './stack';

// `npm run demo`: the tool, the mock LLM and the demo LMS in one process; prints the page to open.
// DEMO_PORT (default 3000) is the tool's port, the LMS uses the next one, the mock LLM DEMO_MOCK_LLM_PORT
// (default 4010); DEMO_DATA_DIR (default ./data/demo) keeps everything between runs.

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw.trim() === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${name} must be a port number (got "${raw}").`);
  return value;
}

async function main(): Promise<void> {
  if (process.env.NODE_ENV === 'production') {
    process.stderr.write('npm run demo refuses to start with NODE_ENV=production: the demo LMS signs a launch for anyone who clicks.\n');
    process.exit(1);
  }
  const toolPort = port('DEMO_PORT', 3000);
  const dataDir = path.resolve(process.env.DEMO_DATA_DIR ?? path.join('data', 'demo'));
  const stack = await startDemoStack({
    dataDir,
    toolPort,
    lmsPort: toolPort === 0 ? 0 : toolPort + 1,
    mockLlmPort: port('DEMO_MOCK_LLM_PORT', 4010),
    logLevel: process.env.LOG_LEVEL ?? 'warn',
  });
  process.stdout.write(
    [
      '',
      'FeedForward demo is running.',
      '',
      `  Open this page:  ${stack.lmsUrl}`,
      '',
      `  Demo LMS (one course, three people)  ${stack.lmsUrl}`,
      `  FeedForward, on SQLite               ${stack.toolUrl}`,
      `  Mock LLM (OpenAI-compatible)         ${stack.mockLlmUrl}`,
      `  Data (delete it to start over)       ${dataDir}`,
      '',
      'Start with "Open FeedForward as Ada Admin": add a connection with the provider "OpenAI-compatible",',
      `base URL ${stack.mockLlmUrl} and any key, test it, and add a model instance. The README's "Try it" section goes on from there.`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void stack.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  process.stderr.write(`npm run demo: ${e?.code === 'EADDRINUSE' ? `a port is in use (${e.message}); set DEMO_PORT and DEMO_MOCK_LLM_PORT to free ports` : e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
