import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { addDeployment } from '../../src/lti/platforms';
import { LtiLaunch } from '../../src/models';
import { CookieJar, type LaunchResult } from '../support/platform';
import { browserRequest, cookiesFor, headerValue } from '../support/platform/browser';
import { LtiHarness, me, startLtiHarness } from '../support/lti';

// SECURITY.md L "Nonce": an id_token is single use. A replay is refused, also later, and of ten
// concurrent copies of one launch POST exactly one succeeds: the used-nonce primary key decides,
// not a check-then-insert.

describe('replayed launches', () => {
  let h: LtiHarness;
  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
  });
  afterAll(() => h.close());
  afterEach(() => jest.useRealTimers());

  const usedNonceRows = async (nonce: string): Promise<number> => {
    const rows = await h.ctx.sequelize.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM lti_used_nonces WHERE nonce = :nonce', {
      replacements: { nonce },
      type: QueryTypes.SELECT,
    });
    return Number(rows[0]!.n);
  };

  /** A successful launch, ready to be replayed exactly as the browser posted it. */
  async function successfulLaunch(): Promise<LaunchResult & { state: string; nonce: string }> {
    const result = await h.launch('moodle-student');
    expect(result.status).toBe(303);
    expect(result.ltik).toBeDefined();
    const state = result.authRequest!.state!;
    expect(await LtiLaunch.count({ where: { id: state } })).toBe(1);
    return { ...result, state, nonce: result.authRequest!.nonce! };
  }

  /**
   * Our login plus a signed id_token, with the launch form_post built but NOT sent: what an attacker
   * who captured the POST holds before the victim's browser delivered it.
   */
  async function capturedLaunchPost(): Promise<LaunchResult & { state: string; nonce: string }> {
    const jar = new CookieJar();
    const launchUrl = `${h.toolUrl}/lti/launch`;
    const payload = h.platform.claims('moodle-student', { deploymentId: h.deploymentId, targetLinkUri: launchUrl });
    const loginParams = h.platform.loginParams('moodle-student', payload, { deploymentId: h.deploymentId, targetLinkUri: launchUrl });
    const login = await browserRequest(h.ctx.app, { method: 'POST', url: `${h.toolUrl}/lti/login`, form: loginParams, jar, cookie: '', fromOrigin: h.platform.origin });
    expect(login.status).toBe(302);
    const auth = new URL(headerValue(login, 'location')!).searchParams;
    const state = auth.get('state')!;
    const nonce = auth.get('nonce')!;
    payload.nonce = nonce;
    const idToken = await h.platform.sign(payload);
    const cookie = cookiesFor(jar, launchUrl, h.platform.origin);
    expect(cookie).toContain(`state${state}=`);
    return {
      login,
      loginParams,
      jar,
      idToken,
      payload,
      status: login.status,
      body: login.text,
      launchRequest: { url: launchUrl, form: { id_token: idToken, state }, cookie },
      state,
      nonce,
    };
  }

  function expectRefused(replay: LaunchResult, codes: string[]): void {
    expect(replay.status).toBeGreaterThanOrEqual(400);
    expect(replay.status).toBeLessThan(500);
    expect(replay.ltik).toBeUndefined();
    expect(replay.location ?? '').not.toContain('ltik=');
    const code = /<code>([a-z_]+)<\/code>/.exec(replay.body)?.[1];
    expect(codes).toContain(code);
    expect(replay.body).not.toContain(replay.launchRequest!.form.id_token);
  }

  test('a replayed id_token is refused, with or without the original cookies', async () => {
    const original = await successfulLaunch();
    for (const cookies of ['original', 'jar', 'none'] as const) {
      const replay = await h.platform.replay(h.ctx.app, original, { cookies });
      expectRefused(replay, ['unknown_state', 'replayed', 'missing_state_cookie']);
    }
    // Still the one launch row the original created, and the nonce recorded once.
    expect(await LtiLaunch.count({ where: { id: original.state } })).toBe(1);
    expect(await usedNonceRows(original.nonce)).toBe(1);
    // The original session is unaffected.
    expect((await me(h.ctx, original.ltik)).status).toBe(200);
  });

  test('a replay 15 s later is still refused', async () => {
    const original = await successfulLaunch();
    // Only Date moves: the token is still inside its exp and maximum age 15 s later.
    jest.useFakeTimers({ doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'], now: Date.now() + 15_000 });
    const replay = await h.platform.replay(h.ctx.app, original);
    expectRefused(replay, ['unknown_state', 'replayed']);
    expect(await LtiLaunch.count({ where: { id: original.state } })).toBe(1);
  });

  test('the used-nonce record alone refuses a replay, even if the login state were still there', async () => {
    const original = await successfulLaunch();
    // Put back the login row the launch consumed, so only the single-use nonce stands in the way.
    const now = new Date();
    await h.ctx.sequelize.query(
      `INSERT INTO lti_login_states (state, nonce, issuer, client_id, deployment_hint, target_link_uri, expires_at, created_at)
       VALUES (:state, :nonce, :issuer, :clientId, :hint, :target, :expiresAt, :now)`,
      {
        replacements: {
          state: original.state,
          nonce: original.nonce,
          issuer: h.platform.issuer,
          clientId: h.platform.clientId,
          hint: h.deploymentId,
          target: `${h.toolUrl}/lti/launch`,
          expiresAt: new Date(now.getTime() + 600_000),
          now,
        },
      },
    );
    jest.useFakeTimers({ doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'], now: Date.now() + 15_000 });
    const replay = await h.platform.replay(h.ctx.app, original);
    expectRefused(replay, ['replayed']);
    expect(await LtiLaunch.count({ where: { id: original.state } })).toBe(1);
    expect(await usedNonceRows(original.nonce)).toBe(1);
  });

  test('a refused launch (deployment switched off) still uses up its login: sent again once the deployment is back, it is refused', async () => {
    const deploymentId = `dep-${randomUUID().slice(0, 8)}`;
    const deployment = await addDeployment(h.registration, deploymentId, 'cli');
    await deployment.update({ active: false });
    const refused = await h.launch('moodle-student', { deploymentId });
    expect(refused.status).toBe(403);
    expect(refused.body).toContain('<code>deployment_inactive</code>');
    expect(await usedNonceRows(refused.authRequest!.nonce!)).toBe(1);

    await deployment.update({ active: true });
    const again = await h.platform.replay(h.ctx.app, refused);
    expectRefused(again, ['unknown_state', 'replayed']);
    expect(await LtiLaunch.count({ where: { id: refused.authRequest!.state! } })).toBe(0);
    // Positive control: a fresh launch into the deployment works now.
    expect((await h.launch('moodle-student', { deploymentId })).status).toBe(303);
  });

  test('positive control: a captured launch POST that was never sent succeeds when it is sent once', async () => {
    const captured = await capturedLaunchPost();
    const result = await h.platform.replay(h.ctx.app, captured);
    expect(result.status).toBe(303);
    expect(result.ltik).toBeDefined();
    expect(await LtiLaunch.count({ where: { id: captured.state } })).toBe(1);
  });

  test.each([1, 2, 3])('10 concurrent copies of one launch POST give exactly one session (round %i)', async () => {
    const captured = await capturedLaunchPost();
    expect(await LtiLaunch.count({ where: { id: captured.state } })).toBe(0);
    const results = await Promise.all(Array.from({ length: 10 }, () => h.platform.replay(h.ctx.app, captured)));

    const winners = results.filter((r) => r.status === 303 && r.ltik);
    expect(winners).toHaveLength(1);
    const losers = results.filter((r) => r !== winners[0]);
    for (const loser of losers) expectRefused(loser, ['replayed', 'unknown_state']);
    // They really raced: copies that passed every check together were stopped by the nonce key.
    expect(losers.some((r) => r.body.includes('<code>replayed</code>'))).toBe(true);
    expect(await LtiLaunch.count({ where: { id: captured.state } })).toBe(1);
    expect(await usedNonceRows(captured.nonce)).toBe(1);
    expect((await me(h.ctx, winners[0]!.ltik)).status).toBe(200);
  });
});
