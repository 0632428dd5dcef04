import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { JwksCache, JwksError } from '../../src/lti/jwksCache';
import { LtiLaunch } from '../../src/models';
import type { LaunchResult, TestPlatform } from '../support/platform';
import { LtiHarness, startLtiHarness } from '../support/lti';

// SECURITY.md L "JWKS fetching": platform keys are cached (50 launches, 1 fetch), a rotated key is
// picked up with one refetch, random kids cannot flood the platform, and a hanging JWKS endpoint
// fails its own launches within 5 s without holding up anyone else's.

const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');

function expectRefusedLaunch(result: LaunchResult, code: string): void {
  expect(result.launch).toBeDefined();
  expect(result.status).toBeGreaterThanOrEqual(400);
  expect(result.status).toBeLessThan(500);
  expect(result.ltik).toBeUndefined();
  expect(result.location ?? '').not.toContain('ltik=');
  expect(result.body).toContain(`<code>${code}</code>`);
}

describe('platform JWKS through launches', () => {
  let h: LtiHarness;
  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
  });
  afterAll(() => h.close());

  /** A platform of its own, so its /jwks counter and the tool's cache entry start from nothing. */
  async function freshPlatform(): Promise<{ platform: TestPlatform; launch: (opts?: Parameters<LtiHarness['launch']>[1]) => Promise<LaunchResult> }> {
    const { platform, deploymentId } = await h.addPlatform({ flavour: 'moodle' });
    expect(platform.jwksFetches).toBe(0);
    return { platform, launch: (opts = {}) => platform.launch(h.ctx.app, { fixture: 'moodle-student', deploymentId, toolUrl: h.toolUrl, ...opts }) };
  }

  test('50 sequential launches fetch the JWKS once', async () => {
    const { platform, launch } = await freshPlatform();
    const toolFetchesBefore = h.ctx.app.jwks.fetches;
    for (let i = 0; i < 50; i += 1) {
      const result = await launch();
      expect(result.status).toBe(303);
      expect(result.ltik).toBeDefined();
    }
    expect(platform.jwksFetches).toBe(1);
    expect(h.ctx.app.jwks.fetches - toolFetchesBefore).toBe(1);
  });

  test('after a key rotation, a launch signed with the new kid succeeds with exactly one refetch', async () => {
    const { platform, launch } = await freshPlatform();
    expect((await launch()).status).toBe(303);
    expect(platform.jwksFetches).toBe(1);
    const oldKid = platform.kid;

    await platform.rotateKey();
    expect(platform.kid).not.toBe(oldKid);
    const rotated = await launch();
    expect(rotated.status).toBe(303);
    expect(rotated.ltik).toBeDefined();
    expect(await LtiLaunch.count({ where: { id: rotated.authRequest!.state! } })).toBe(1);
    expect(platform.jwksFetches).toBe(2);

    // The new key set is cached again.
    for (let i = 0; i < 3; i += 1) expect((await launch()).status).toBe(303);
    expect(platform.jwksFetches).toBe(2);
  });

  test('a burst of tokens with random unknown kids causes at most one refetch within the cool-down', async () => {
    const { platform, launch } = await freshPlatform();
    expect((await launch()).status).toBe(303); // positive control, and the key set is now cached
    expect(platform.jwksFetches).toBe(1);

    const burst = await Promise.all(Array.from({ length: 20 }, () => launch({ signOptions: { kid: `kid-${randomHex(8)}` } })));
    for (let i = 0; i < 10; i += 1) burst.push(await launch({ signOptions: { kid: randomHex(10) } }));
    for (const result of burst) {
      expectRefusedLaunch(result, 'unknown_kid');
      expect(await LtiLaunch.count({ where: { id: result.authRequest!.state! } })).toBe(0);
    }
    expect(platform.jwksFetches).toBeLessThanOrEqual(2);

    // The platform's real key still works, from the cache.
    const fetches = platform.jwksFetches;
    expect((await launch()).status).toBe(303);
    expect(platform.jwksFetches).toBe(fetches);
  });

  test('a hanging JWKS endpoint fails its launch within 5 s while another platform launches normally', async () => {
    const hanging = await freshPlatform();
    hanging.platform.jwksHang = true;
    const finished: string[] = [];

    const started = Date.now();
    const [stuck, other] = await Promise.all([
      hanging.launch().then((result) => {
        finished.push('hanging');
        return { result, elapsedMs: Date.now() - started };
      }),
      // Give the hanging launch a head start so its JWKS request is really pending.
      new Promise((resolve) => setTimeout(resolve, 200)).then(async () => {
        const result = await h.launch('moodle-student');
        finished.push('other');
        return { result, elapsedMs: Date.now() - started };
      }),
    ]);

    expect(hanging.platform.jwksFetches).toBeGreaterThanOrEqual(1);
    expectRefusedLaunch(stuck.result, 'jwks_unreachable');
    expect(stuck.result.body).not.toMatch(/\n\s+at \S/);
    expect(await LtiLaunch.count({ where: { id: stuck.result.authRequest!.state! } })).toBe(0);
    expect(stuck.elapsedMs).toBeLessThanOrEqual(5000);

    expect(other.result.status).toBe(303);
    expect(other.result.ltik).toBeDefined();
    expect(other.elapsedMs).toBeLessThan(2000);
    expect(finished).toEqual(['other', 'hanging']);

    // Positive control: once the endpoint answers again, the same platform launches.
    hanging.platform.jwksHang = false;
    const recovered = await hanging.launch();
    expect(recovered.status).toBe(303);
    expect(recovered.ltik).toBeDefined();
  }, 20_000);
});

describe('JwksCache (unit, injected clock)', () => {
  let server: http.Server;
  let url: string;
  let jwks: { keys: JWK[] };
  let kid: string;
  let requests = 0;
  let cacheControl: string | undefined;
  let hang = false;

  beforeAll(async () => {
    const { publicKey } = await generateKeyPair('RS256');
    kid = randomHex(8);
    jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] };
    server = http.createServer((_req, res) => {
      requests += 1;
      if (hang) return;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (cacheControl !== undefined) headers['cache-control'] = cacheControl;
      res.writeHead(200, headers).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    requests = 0;
    cacheControl = undefined;
    hang = false;
  });

  const MIN = 60_000;
  const MAX = 3_600_000;
  const DEFAULT = 600_000;

  function cacheAt(clock: { t: number }, opts: ConstructorParameters<typeof JwksCache>[0] = {}): JwksCache {
    return new JwksCache({ minTtlMs: MIN, maxTtlMs: MAX, defaultTtlMs: DEFAULT, cooldownMs: 30_000, now: () => clock.t, ...opts });
  }

  const known = () => ({ alg: 'RS256', kid });

  test.each([
    ['max-age=120 is honoured', 'public, max-age=120', 120_000],
    ['a max-age below the minimum is raised to the minimum', 'max-age=5', MIN],
    ['max-age=0 is raised to the minimum', 'max-age=0', MIN],
    ['a max-age above the maximum is capped at the maximum', 'max-age=99999999', MAX],
    ['no-store keeps the key set for the minimum only', 'no-store', MIN],
    ['no Cache-Control uses the default', undefined, DEFAULT],
  ])('%s', async (_label, header, ttlMs) => {
    cacheControl = header;
    const clock = { t: 1_000_000 };
    const cache = cacheAt(clock);
    await cache.getKey(url, known());
    expect(requests).toBe(1);

    clock.t += ttlMs - 1000;
    await cache.getKey(url, known());
    expect(requests).toBe(1); // still fresh

    clock.t += 2000;
    await cache.getKey(url, known());
    expect(requests).toBe(2); // expired: fetched again
  });

  test('concurrent lookups share one fetch', async () => {
    const cache = cacheAt({ t: 0 });
    await Promise.all(Array.from({ length: 10 }, () => cache.getKey(url, known())));
    expect(requests).toBe(1);
  });

  test('an unknown kid refetches once, then not again until the cool-down has passed', async () => {
    const clock = { t: 1_000_000 };
    const cache = cacheAt(clock);
    await cache.getKey(url, known());
    expect(requests).toBe(1);

    clock.t += 1000;
    const lookups = await Promise.allSettled(Array.from({ length: 10 }, () => cache.getKey(url, { alg: 'RS256', kid: randomHex(8) })));
    for (const lookup of lookups) expect(lookup).toMatchObject({ status: 'rejected', reason: { code: 'unknown_kid' } });
    expect(requests).toBe(2);

    clock.t += 20_000;
    await expect(cache.getKey(url, { alg: 'RS256', kid: randomHex(8) })).rejects.toBeInstanceOf(JwksError);
    expect(requests).toBe(2);

    clock.t += 11_000; // 31 s after the refetch
    await expect(cache.getKey(url, { alg: 'RS256', kid: randomHex(8) })).rejects.toMatchObject({ code: 'unknown_kid' });
    expect(requests).toBe(3);
    await cache.getKey(url, known()); // the known key never needed any of that
    expect(requests).toBe(3);
  });

  test('a key rotated in right after the set was cached is found with exactly one refetch', async () => {
    const clock = { t: 1_000_000 };
    const cache = cacheAt(clock);
    await cache.getKey(url, known());
    const before = jwks;
    try {
      const { publicKey } = await generateKeyPair('RS256');
      const newKid = randomHex(8);
      jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: newKid, alg: 'RS256', use: 'sig' }] };
      clock.t += 1; // well inside the cool-down of the first fetch
      await expect(cache.getKey(url, { alg: 'RS256', kid: newKid })).resolves.toBeDefined();
      expect(requests).toBe(2);
      await cache.getKey(url, { alg: 'RS256', kid: newKid });
      expect(requests).toBe(2);
    } finally {
      jwks = before;
    }
  });

  test('a key set fetched for an unknown kid is not fetched twice in one lookup', async () => {
    const cache = cacheAt({ t: 0 });
    await expect(cache.getKey(url, { alg: 'RS256', kid: 'nope' })).rejects.toMatchObject({ code: 'unknown_kid' });
    expect(requests).toBe(1);
  });

  test('a hanging endpoint fails after the timeout', async () => {
    hang = true;
    const cache = cacheAt({ t: 0 }, { timeoutMs: 300 });
    const started = Date.now();
    await expect(cache.getKey(url, known())).rejects.toMatchObject({ code: 'jwks_unreachable' });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
