import { Deployment, LtiPlatform } from '../../src/models';
import { runCli } from '../support/cli';
import { createTestContext, TestContext } from '../support/context';
import { isolatedDatabaseUrl } from '../support/db';
import { me } from '../support/lti';
import { TestPlatform, type LaunchResult } from '../support/platform';

// Manual registration with `npm run cli -- platform|deployment ...`, run as the real entry point
// against its own database, while a running app on the same database picks every change up.

const cli = (databaseUrl: string, args: string[]) => runCli(databaseUrl, args);

const NO_STACK = /\n\s+at /;

describe('CLI: platform and deployment registration', () => {
  let databaseUrl: string;
  let platform: TestPlatform;
  let ctx: TestContext | undefined;
  const toolUrl = process.env.PUBLIC_URL!; // what the CLI child process sees as well
  const firstDeployment = 'moodle-dep-1';
  const secondDeployment = 'moodle-dep-2';
  let firstLtik: string | undefined;
  let secondLtik: string | undefined;

  const launch = (deploymentId: string): Promise<LaunchResult> => platform.launch(ctx!.app, { fixture: 'moodle-teacher', deploymentId, toolUrl });
  const platformArgs = () => ['--issuer', platform.issuer, '--client-id', platform.clientId];

  beforeAll(async () => {
    databaseUrl = await isolatedDatabaseUrl();
    platform = await TestPlatform.start({ flavour: 'moodle' });
  });
  afterAll(async () => {
    await platform.close();
    await ctx?.close();
  });

  test('--help lists the command groups, and `platform --help` its commands', async () => {
    const [root, group] = await Promise.all([cli(databaseUrl, ['--help']), cli(databaseUrl, ['platform', '--help'])]);
    expect(root.code).toBe(0);
    for (const command of ['platform', 'deployment', 'db', 'secrets']) expect(root.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    expect(group.code).toBe(0);
    for (const command of ['add', 'list', 'remove']) expect(group.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  });

  test('bad input exits non-zero with a clear message and no stack trace', async () => {
    const urls = ['--auth-url', platform.authUrl, '--token-url', platform.tokenUrl];
    const [badJwks, missing] = await Promise.all([
      cli(databaseUrl, ['platform', 'add', ...platformArgs(), ...urls, '--jwks-url', 'ftp://x', '--deployment', firstDeployment]),
      cli(databaseUrl, ['platform', 'add', ...platformArgs(), ...urls, '--jwks-url', platform.jwksUrl]),
    ]);
    // Not in parallel with the others: this one gets as far as the database.
    // (Another client id, so that the registration below cannot hide a half-stored one.)
    const badDeployment = await cli(databaseUrl, ['platform', 'add', '--issuer', platform.issuer, '--client-id', 'other-client', ...urls, '--jwks-url', platform.jwksUrl, '--deployment', 'dép\n1']);
    expect(badJwks.code).not.toBe(0);
    expect(badJwks.stderr).toMatch(/Not registered: JWKS URL must use https/);
    expect(badJwks.stderr).not.toMatch(NO_STACK);
    expect(badJwks.stdout).not.toMatch(/Registered/);

    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/required option '--deployment <id>' not specified/);
    expect(missing.stderr).not.toMatch(NO_STACK);
    expect(missing.stdout).not.toMatch(/Registered/);

    expect(badDeployment.code).not.toBe(0);
    expect(badDeployment.stderr).toMatch(/Not registered: deployment id must be 1 to 255 printable ASCII characters/);
    expect(badDeployment.stderr).not.toMatch(NO_STACK);
    expect(badDeployment.stdout).not.toMatch(/Registered/);
  });

  test('`platform add` registers the LMS and prints what to paste into it; `platform list` shows it', async () => {
    const add = await cli(databaseUrl, [
      'platform', 'add', ...platformArgs(),
      '--auth-url', platform.authUrl, '--token-url', platform.tokenUrl, '--jwks-url', platform.jwksUrl,
      '--deployment', firstDeployment, '--name', 'Test Moodle',
    ]);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.stdout).toContain(`Registered Test Moodle: issuer ${platform.issuer}, client id ${platform.clientId}, deployment ${firstDeployment}.`);
    expect(add.stdout).toMatch(new RegExp(`Initiate login URL\\s*: ${toolUrl}/lti/login$`, 'm'));
    expect(add.stdout).toMatch(new RegExp(`(Tool URL|Redirection URI).*: ${toolUrl}/lti/launch$`, 'm'));
    expect(add.stdout).toMatch(new RegExp(`Public keyset \\(JWKS\\) URL\\s*: ${toolUrl}/lti/keys$`, 'm'));
    expect(add.stdout).toMatch(new RegExp(`JSON URL\\s*: ${toolUrl}/lti/config.json$`, 'm'));

    const list = await cli(databaseUrl, ['platform', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('Test Moodle  [active, via cli]');
    expect(list.stdout).toContain(`issuer ${platform.issuer}  client id ${platform.clientId}`);
    expect(list.stdout).toMatch(new RegExp(`^  deployment ${firstDeployment}$`, 'm'));
  });

  test('an app on that database accepts a launch from that platform and deployment', async () => {
    ctx = await createTestContext({}, databaseUrl);
    // The refused `platform add`s above stored nothing: this database holds only the one registration.
    expect(await LtiPlatform.count()).toBe(1);
    expect(await Deployment.count()).toBe(1);
    const row = await LtiPlatform.findOne({ where: { issuer: platform.issuer, clientId: platform.clientId } });
    expect(row).toMatchObject({ name: 'Test Moodle', registeredVia: 'cli', active: true, acceptNewDeployments: false, jwksUrl: platform.jwksUrl });
    expect(await Deployment.findOne({ where: { issuer: platform.issuer, deploymentId: firstDeployment } })).toMatchObject({ active: true, registeredVia: 'cli' });

    const result = await launch(firstDeployment);
    expect(result.authError).toBeUndefined();
    expect(result.status).toBe(303);
    firstLtik = result.ltik;
    const session = await me(ctx, firstLtik);
    expect(session.status).toBe(200);
    expect(session.body.deployment).toMatchObject({ issuer: platform.issuer, clientId: platform.clientId, deploymentId: firstDeployment });

    // A deployment nobody allowed is refused, with the command that would allow it.
    const other = await launch(secondDeployment);
    expect(other.status).toBe(403);
    expect(other.ltik).toBeUndefined();
    expect(other.body).toContain('npm run cli -- deployment add');
  });

  test('`deployment add` lets a second deployment launch, without restarting the app', async () => {
    const add = await cli(databaseUrl, ['deployment', 'add', ...platformArgs(), '--deployment', secondDeployment]);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.stdout).toContain(`Deployment ${secondDeployment} of ${platform.issuer} can now launch FeedForward.`);

    const result = await launch(secondDeployment);
    expect(result.status).toBe(303);
    secondLtik = result.ltik;
    const session = await me(ctx!, secondLtik);
    expect(session.status).toBe(200);
    expect(session.body.deployment.deploymentId).toBe(secondDeployment);
  });

  test('`deployment remove` refuses its launches with a 403 page and ends its open sessions at once', async () => {
    expect(secondLtik).toBeDefined();
    const remove = await cli(databaseUrl, ['deployment', 'remove', ...platformArgs(), '--deployment', secondDeployment]);
    expect(remove.stderr).toBe('');
    expect(remove.code).toBe(0);
    expect(remove.stdout).toContain(`Deployment ${secondDeployment} of ${platform.issuer} is switched off.`);

    const result = await launch(secondDeployment);
    expect(result.status).toBe(403);
    expect(result.ltik).toBeUndefined();
    expect(result.body).toMatch(/switched off/);
    expect(result.body).not.toMatch(NO_STACK);

    // The ltik issued before the removal no longer works.
    const stale = await me(ctx!, secondLtik);
    expect(stale.status).toBe(403);
    expect(stale.body.error.code).toBe('deployment_inactive');
    expect(stale.body).not.toHaveProperty('user');

    // The other deployment is untouched; the data of the removed one is kept, switched off.
    expect((await me(ctx!, firstLtik)).status).toBe(200);
    expect((await launch(firstDeployment)).status).toBe(303);
    expect(await Deployment.findOne({ where: { issuer: platform.issuer, deploymentId: secondDeployment } })).toMatchObject({ active: false });
  });

  test('`platform remove` refuses later launches and ends its sessions', async () => {
    const remove = await cli(databaseUrl, ['platform', 'remove', ...platformArgs()]);
    expect(remove.stderr).toBe('');
    expect(remove.code).toBe(0);
    expect(remove.stdout).toContain(`Removed platform ${platform.issuer} (${platform.clientId}).`);

    const result = await launch(firstDeployment);
    expect(result.status).toBe(400);
    expect(result.authRequest).toBeUndefined(); // refused at login, never sent to the LMS
    expect(result.ltik).toBeUndefined();
    expect(result.body).toMatch(/not registered with FeedForward/);
    expect((await me(ctx!, firstLtik)).status).toBe(403);
    expect(await LtiPlatform.count({ where: { issuer: platform.issuer } })).toBe(0);
    expect(await ctx!.app.lti.getPlatform(platform.issuer, platform.clientId)).toBe(false);
  });
});
