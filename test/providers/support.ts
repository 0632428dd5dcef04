import nock from 'nock';
import { ProviderError } from '../../src/providers';

// Shared set-up for provider tests: outbound HTTP is blocked except the loopback other suites use,
// every request that reaches no interceptor is counted, and leftovers are cleared between tests.

let unmatched = 0;
const onNoMatch = () => {
  unmatched += 1;
};

/** Call once per test file, at the top level: its afterAll deactivates nock. */
export function useNock(): { unmatchedRequests: () => number } {
  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
    nock.emitter.on('no match', onNoMatch);
  });
  beforeEach(() => {
    unmatched = 0;
  });
  afterEach(() => {
    nock.abortPendingRequests();
    nock.cleanAll();
  });
  afterAll(() => {
    nock.emitter.removeListener('no match', onNoMatch);
    nock.enableNetConnect();
    nock.restore();
  });
  return { unmatchedRequests: () => unmatched };
}

/** Counts the requests a scope's interceptors answered. */
export function requestCounter(scope: nock.Scope): () => number {
  let count = 0;
  scope.on('request', () => {
    count += 1;
  });
  return () => count;
}

/** Awaits a call that must fail, and returns its error as a ProviderError. */
export async function providerErrorOf(call: Promise<unknown>): Promise<ProviderError> {
  const outcome = await call.then(
    () => new Error('expected the call to fail'),
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(ProviderError);
  return outcome as ProviderError;
}

/** Every way an error can reach a log, a page or a queue payload. */
export function everyRenderingOf(err: ProviderError): string {
  return [err.message, String(err), JSON.stringify(err), err.stack ?? '', JSON.stringify(Object.entries(err))].join('\n');
}

export const schema = {
  type: 'object',
  properties: { score: { type: 'integer' }, comment: { type: 'string' } },
  required: ['score', 'comment'],
  additionalProperties: false,
};
