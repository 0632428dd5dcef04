import { Writable } from 'node:stream';
import { createLogger, scrubText } from '../../src/logger';

const CANARY = 'sk-canary-7Qm2Xv9Lp4Rz8Tn1Wb6Yc3';

function capture(level = 'trace') {
  const lines: string[] = [];
  const destination = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  return { logger: createLogger({ level, destination }), lines };
}

describe('the redacting logger', () => {
  test('a secret passed through the logger never appears in its output, even at trace level', () => {
    const { logger, lines } = capture();
    logger.info({ apiKey: CANARY }, 'structured field');
    logger.info({ provider: { apiKey: CANARY, label: 'x' } }, 'nested field');
    logger.info({ headers: { authorization: `Bearer ${CANARY}` } }, 'auth header');
    logger.warn(`free text mentioning ${CANARY}`);
    logger.error({ err: new Error(`401 from provider: Incorrect API key provided: ${CANARY}`) }, 'provider error');
    logger.debug({ url: `https://api.example.com/v1/models?key=${CANARY}` }, 'url');
    logger.trace({ body: { messages: [{ content: `my key is ${CANARY}` }] } }, 'deep');
    const out = lines.join('');
    expect(lines).toHaveLength(7);
    expect(out).not.toContain(CANARY);
    expect(out).not.toContain('7Qm2Xv9Lp4Rz8Tn1Wb6Yc3');
    expect(out).toContain('[redacted]');
  });

  test('errors are logged without stacks', () => {
    const { logger, lines } = capture();
    logger.error({ err: new Error('boom') }, 'failed');
    const entry = JSON.parse(lines[0]!);
    expect(entry.err).toEqual({ type: 'Error', message: 'boom' });
  });

  test('scrubText masks bearer tokens, provider key shapes, JWTs and credential query parameters', () => {
    expect(scrubText('Authorization: Bearer abc.def-ghi')).toBe('Authorization: [redacted]');
    expect(scrubText('key sk-ant-api03-abcdefgh and hf_abcdefghijk')).toBe('key [redacted] and [redacted]');
    expect(scrubText('/app?ltik=eyJhbGciOi.eyJzdWIiOi.sig&x=1')).toBe('/app?ltik=[redacted]&x=1');
  });
});
