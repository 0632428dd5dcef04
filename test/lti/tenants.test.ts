import { randomUUID } from 'node:crypto';
import { Deployment, User } from '../../src/models';
import { addDeployment } from '../../src/lti/platforms';
import { LtiHarness, me, startLtiHarness } from '../support/lti';

// Tenant = (iss, client_id, deployment_id); user = (iss, client_id, sub). Only the validated launch decides.

describe('tenants and users', () => {
  let h: LtiHarness;
  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
  });
  afterAll(() => h.close());

  test('same issuer, two deployments: two tenants that never see each other', async () => {
    const second = `dep-${randomUUID().slice(0, 8)}`;
    await addDeployment(h.registration, second, 'cli');
    const one = await h.launch('moodle-teacher');
    const two = await h.launch('moodle-teacher', { deploymentId: second });
    const [a, b] = await Promise.all([me(h.ctx, one.ltik), me(h.ctx, two.ltik)]);
    expect(a.body.deployment.deploymentId).toBe(h.deploymentId);
    expect(b.body.deployment.deploymentId).toBe(second);
    expect(a.body.deployment.id).not.toBe(b.body.deployment.id);
    // The same person in both: one user (same iss, client_id, sub), two tenants.
    expect(a.body.user.id).toBe(b.body.user.id);
  });

  test('an admin of deployment 1 is not an admin of deployment 2', async () => {
    const second = `dep-${randomUUID().slice(0, 8)}`;
    await addDeployment(h.registration, second, 'cli');
    const admin = await h.launch('moodle-admin');
    expect((await me(h.ctx, admin.ltik)).body.role).toBe('admin');
    const studentElsewhere = await h.launch('moodle-student', {
      deploymentId: second,
      claims: { sub: admin.payload!.sub },
    });
    const there = await me(h.ctx, studentElsewhere.ltik);
    expect(there.body.role).toBe('student');
    expect(there.body.deployment.deploymentId).toBe(second);
    // The admin's earlier ltik still names deployment 1 only.
    expect((await me(h.ctx, admin.ltik)).body.deployment.deploymentId).toBe(h.deploymentId);
  });

  test('two Moodle sites with sub "2" are two users', async () => {
    const other = await h.addPlatform({ flavour: 'moodle' });
    const siteA = await h.launch('moodle-admin');
    const siteB = await other.platform.launch(h.ctx.app, { fixture: 'moodle-admin', deploymentId: other.deploymentId, toolUrl: h.toolUrl });
    const [a, b] = await Promise.all([me(h.ctx, siteA.ltik), me(h.ctx, siteB.ltik)]);
    expect(siteA.payload!.sub).toBe('2');
    expect(siteB.payload!.sub).toBe('2');
    expect(a.body.user.id).not.toBe(b.body.user.id);
    expect(await User.count({ where: { sub: '2', issuer: [h.platform.issuer, other.platform.issuer] } })).toBe(2);
  });

  test('a role downgrade applies at the next launch', async () => {
    const sub = `u-${randomUUID()}`;
    const asTeacher = await h.launch('moodle-teacher', { claims: { sub } });
    expect((await me(h.ctx, asTeacher.ltik)).body.role).toBe('instructor');
    const asStudent = await h.launch('moodle-teacher', {
      claims: { sub, 'https://purl.imsglobal.org/spec/lti/claim/roles': ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'] },
    });
    expect((await me(h.ctx, asStudent.ltik)).body.role).toBe('student');
  });

  test('Mentor or empty roles get a "no access" page and no session', async () => {
    for (const roles of [[], ['http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor']]) {
      const result = await h.launch('moodle-student', { claims: { 'https://purl.imsglobal.org/spec/lti/claim/roles': roles } });
      expect(result.status).toBe(403);
      expect(result.ltik).toBeUndefined();
      expect(result.body).toMatch(/does not give access to FeedForward/);
    }
  });

  test('an unknown deployment of a known platform is refused with a page saying how to allow it', async () => {
    const unknown = `dep-${randomUUID().slice(0, 8)}`;
    const result = await h.launch('moodle-teacher', { deploymentId: unknown });
    expect(result.status).toBe(403);
    expect(result.ltik).toBeUndefined();
    expect(result.body).toContain('npm run cli -- deployment add');
    expect(result.body).toContain(unknown);
    expect(await Deployment.count({ where: { deploymentId: unknown } })).toBe(0);
  });

  test('a platform that accepts new deployments creates the tenant on first launch', async () => {
    const open = await h.addPlatform({ flavour: 'canvas', acceptNewDeployments: true });
    const fresh = `dep-${randomUUID().slice(0, 8)}`;
    const result = await open.platform.launch(h.ctx.app, { fixture: 'canvas-teacher', deploymentId: fresh, toolUrl: h.toolUrl });
    expect(result.status).toBe(303);
    expect((await me(h.ctx, result.ltik)).body.deployment.deploymentId).toBe(fresh);
    expect(await Deployment.count({ where: { deploymentId: fresh, issuer: open.platform.issuer } })).toBe(1);
  });

  test('tenant ids in headers, query or body are ignored: only the launch decides', async () => {
    const result = await h.launch('moodle-teacher');
    const res = await me(h.ctx, result.ltik).query({ deploymentId: 'other', deployment_id: 'other' }).set('X-Deployment-Id', 'other');
    expect(res.body.deployment.deploymentId).toBe(h.deploymentId);
  });

  test('switching a deployment off ends its sessions at once', async () => {
    const dep = `dep-${randomUUID().slice(0, 8)}`;
    const deployment = await addDeployment(h.registration, dep, 'cli');
    const result = await h.launch('moodle-teacher', { deploymentId: dep });
    expect((await me(h.ctx, result.ltik)).status).toBe(200);
    await deployment.update({ active: false });
    const after = await me(h.ctx, result.ltik);
    expect(after.status).toBe(403);
    expect(after.body.error.code).toBe('deployment_inactive');
  });

  test('the user row follows the LMS profile: written when name or email change, untouched when they do not, never blanked', async () => {
    const sub = `profile-${randomUUID()}`;
    const launchAs = (profile: Record<string, unknown>) =>
      h.launch('moodle-student', {
        mutate: (p) => {
          const { name: _n, given_name: _g, family_name: _f, email: _e, ...rest } = p;
          return { ...rest, sub, ...profile };
        },
      });
    const userRow = async () => (await User.findOne({ where: { issuer: h.platform.issuer, clientId: h.platform.clientId, sub } }))!;
    const longAgo = new Date('2020-01-01T00:00:00.000Z');
    const markOld = (id: string) => h.ctx.sequelize.query('UPDATE users SET updated_at = :old WHERE id = :id', { replacements: { old: longAgo, id } });

    const first = await launchAs({ name: 'Ada Lovelace', email: 'ada@example.edu' });
    expect(first.status).toBe(303);
    const created = await userRow();
    expect(created).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.edu' });
    expect((await me(h.ctx, first.ltik)).body.user.id).toBe(created.id);

    // Same profile: same row, not written.
    await markOld(created.id);
    const same = await launchAs({ name: 'Ada Lovelace', email: 'ada@example.edu' });
    expect((await me(h.ctx, same.ltik)).body.user.id).toBe(created.id);
    expect((await userRow()).updatedAt.toISOString()).toBe(longAgo.toISOString());

    // A new name: written, email kept.
    const renamed = await launchAs({ name: 'Ada King', email: 'ada@example.edu' });
    expect((await me(h.ctx, renamed.ltik)).body.user.id).toBe(created.id);
    const afterRename = await userRow();
    expect(afterRename).toMatchObject({ name: 'Ada King', email: 'ada@example.edu' });
    expect(afterRename.updatedAt.getTime()).toBeGreaterThan(longAgo.getTime());

    // A new email alone: written.
    await markOld(created.id);
    await launchAs({ name: 'Ada King', email: 'ada.king@example.edu' });
    expect(await userRow()).toMatchObject({ name: 'Ada King', email: 'ada.king@example.edu' });
    expect((await userRow()).updatedAt.getTime()).toBeGreaterThan(longAgo.getTime());

    // No name or email in the launch (privacy settings): nothing is blanked, nothing written.
    await markOld(created.id);
    const anonymous = await launchAs({});
    expect((await me(h.ctx, anonymous.ltik)).body.user.id).toBe(created.id);
    const kept = await userRow();
    expect(kept).toMatchObject({ name: 'Ada King', email: 'ada.king@example.edu' });
    expect(kept.updatedAt.toISOString()).toBe(longAgo.toISOString());
    expect(await User.count({ where: { sub } })).toBe(1);
  });
});
