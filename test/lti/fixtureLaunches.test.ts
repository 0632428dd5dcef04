import { LtiLaunch, User } from '../../src/models';
import { FIXTURE_NAMES } from '../support/platform';
import { LtiHarness, me, startLtiHarness } from '../support/lti';

// Every captured Moodle 4.5 and Canvas launch, re-signed by the test platform, lands where it should.

const expectations = [
  { fixture: 'moodle-student', role: 'student', landing: '/student' },
  { fixture: 'moodle-teacher', role: 'instructor', landing: '/instructor' },
  { fixture: 'moodle-admin', role: 'admin', landing: '/admin' },
  { fixture: 'moodle-non-editing-teacher', role: 'instructor', landing: '/instructor' },
  { fixture: 'moodle-deep-linking', role: 'instructor', landing: '/instructor/deep-link' },
  { fixture: 'canvas-admin', role: 'admin', landing: '/admin' },
  { fixture: 'canvas-teacher', role: 'instructor', landing: '/instructor' },
  { fixture: 'canvas-student', role: 'student', landing: '/student' },
  { fixture: 'canvas-deep-linking', role: 'instructor', landing: '/instructor/deep-link' },
] as const;

describe.each(['moodle', 'canvas'] as const)('launches captured from %s', (flavour) => {
  let h: LtiHarness;
  beforeAll(async () => {
    h = await startLtiHarness({ flavour });
  });
  afterAll(() => h.close());

  test.each(expectations.filter((e) => e.fixture.startsWith(flavour)))('$fixture lands on $landing as $role', async ({ fixture, role, landing }) => {
    const result = await h.launch(fixture);
    expect(result.status).toBe(303);
    expect(result.ltik).toBeDefined();
    expect(new URL(result.location!, h.toolUrl).pathname).toBe(landing);

    const res = await me(h.ctx, result.ltik);
    expect(res.status).toBe(200);
    const payload = result.payload!;
    expect(res.body).toMatchObject({
      role,
      deployment: { issuer: h.platform.issuer, clientId: h.platform.clientId, deploymentId: h.deploymentId },
      user: { name: payload.name },
    });
    const context = payload['https://purl.imsglobal.org/spec/lti/claim/context'] as { id: string; title: string };
    expect(res.body.context).toEqual({ id: context.id, title: context.title });

    const user = await User.findByPk(res.body.user.id);
    expect(user).toMatchObject({ issuer: h.platform.issuer, clientId: h.platform.clientId, sub: payload.sub, email: payload.email });
    // Moodle omits picture and locale; Canvas sends them.
    if (flavour === 'moodle') expect(user!.picture).toBeNull();
    else expect(user!.picture).toBe(payload.picture);

    const page = await h.platform.follow(h.ctx.app, result);
    expect(page.status).toBe(200);
  });

  test('the launch row keeps the service endpoints, never the raw token', async () => {
    const result = await h.launch(`${flavour}-teacher` as (typeof FIXTURE_NAMES)[number]);
    const launch = await LtiLaunch.findByPk(result.authRequest!.state!);
    expect(launch!.claims.ags?.lineitems).toMatch(new RegExp(`^${h.platform.origin}`));
    expect(JSON.stringify(launch!.toJSON())).not.toContain(result.idToken!);
  });
});
