import type { Command } from 'commander';
import { createLtijs } from '../lti/ltijs';
import { addDeployment, deploymentIdProblem, findPlatform, registerPlatform, RegistrationError, removeDeployment, removePlatform, toolEndpoints } from '../lti/platforms';
import { Deployment, LtiPlatform } from '../models';
import type { Runtime } from '../runtime';
import { print, printError } from './output';
import { withRuntime } from './runtime';

// Manual registration: `platform add|list|remove`, `deployment add|remove`.

function pasteIntoLms(publicUrl: string): string {
  const urls = toolEndpoints(publicUrl);
  return [
    'Paste these into the LMS tool registration:',
    `  Tool URL / target link URI : ${urls.launchUrl}`,
    `  Initiate login URL         : ${urls.loginUrl}`,
    `  Redirection URI(s)         : ${urls.launchUrl}`,
    `  Public keyset (JWKS) URL   : ${urls.jwksUrl}`,
    `  Deep linking (content selection) URL : ${urls.deepLinkingUrl}`,
    `  Canvas: JSON URL           : ${urls.canvasConfigUrl}`,
  ].join('\n');
}

/** Runs an action that needs ltijs (its key store), closing ltijs afterwards. */
async function withLtijs(runtime: Runtime, run: (lti: Awaited<ReturnType<typeof createLtijs>>) => Promise<void>): Promise<void> {
  const lti = await createLtijs({ ltiKey: runtime.config.ltiKey, database: runtime.config.database });
  try {
    await run(lti);
  } finally {
    await lti.close({ silent: true });
  }
}

function fail(message: string): void {
  printError(message);
  process.exitCode = 1;
}

async function requirePlatform(issuer: string, clientId: string): Promise<LtiPlatform | null> {
  const platform = await findPlatform(issuer, clientId);
  if (!platform) fail(`No platform is registered with issuer ${issuer} and client id ${clientId}. See \`npm run cli -- platform list\`.`);
  return platform;
}

export function registerPlatformCommands(program: Command): void {
  const platform = program.command('platform').description('LMS platforms (issuer + client id)');

  platform
    .command('add')
    .description('register an LMS by hand and allow one deployment')
    .requiredOption('--issuer <url>', 'the platform issuer (iss), e.g. https://moodle.example.edu')
    .requiredOption('--client-id <id>', 'the client id the LMS gave the tool')
    .requiredOption('--auth-url <url>', 'the OIDC authentication request URL')
    .requiredOption('--token-url <url>', 'the OAuth2 access token URL')
    .requiredOption('--jwks-url <url>', 'the platform public keyset URL')
    .requiredOption('--deployment <id>', 'the deployment id to allow')
    .option('--name <text>', 'a name for admins')
    .option('--authorization-server <value>', 'the aud for client assertions, if not the token URL')
    .option('--accept-new-deployments', 'allow every deployment of this platform, not just --deployment')
    .action(async (opts: { issuer: string; clientId: string; authUrl: string; tokenUrl: string; jwksUrl: string; deployment: string; name?: string; authorizationServer?: string; acceptNewDeployments?: boolean }) => {
      // Before registering anything: a platform without its deployment would be half registered.
      const deploymentProblem = deploymentIdProblem(opts.deployment);
      if (deploymentProblem) return fail(`Not registered: ${deploymentProblem}.`);
      await withRuntime({}, (runtime) =>
        withLtijs(runtime, async (lti) => {
          try {
            const registered = await registerPlatform(
              lti,
              {
                issuer: opts.issuer,
                clientId: opts.clientId,
                name: opts.name,
                authUrl: opts.authUrl,
                tokenUrl: opts.tokenUrl,
                jwksUrl: opts.jwksUrl,
                authorizationServer: opts.authorizationServer ?? null,
                acceptNewDeployments: !!opts.acceptNewDeployments,
                registeredVia: 'cli',
              },
              { allowLocalUrls: runtime.config.allowLocalUrls },
            );
            const deployment = await addDeployment(registered, opts.deployment, 'cli');
            print(`Registered ${registered.name}: issuer ${registered.issuer}, client id ${registered.clientId}, deployment ${deployment.deploymentId}${registered.acceptNewDeployments ? ' (new deployments accepted)' : ''}.`);
            print();
            print(pasteIntoLms(runtime.config.publicUrl));
          } catch (err) {
            if (err instanceof RegistrationError) return fail(`Not registered: ${err.message}.`);
            throw err;
          }
        }),
      );
    });

  platform
    .command('list')
    .description('list registered platforms and their deployments')
    .action(async () => {
      await withRuntime({}, async () => {
        const platforms = await LtiPlatform.findAll({ order: [['issuer', 'ASC'], ['clientId', 'ASC']] });
        if (!platforms.length) return print('No platforms registered. Use `npm run cli -- platform add` or dynamic registration.');
        for (const p of platforms) {
          const deployments = await Deployment.findAll({ where: { issuer: p.issuer, clientId: p.clientId }, order: [['deploymentId', 'ASC']] });
          print(`${p.name}  [${p.active ? 'active' : 'inactive'}, via ${p.registeredVia}${p.acceptNewDeployments ? ', accepts new deployments' : ''}]`);
          print(`  issuer ${p.issuer}  client id ${p.clientId}`);
          for (const d of deployments) print(`  deployment ${d.deploymentId}${d.active ? '' : ' (removed)'}`);
        }
      });
    });

  platform
    .command('remove')
    .description('remove a platform registration; its deployments stop working at once')
    .requiredOption('--issuer <url>', 'the platform issuer')
    .requiredOption('--client-id <id>', 'the client id')
    .action(async (opts: { issuer: string; clientId: string }) => {
      await withRuntime({}, (runtime) =>
        withLtijs(runtime, async (lti) => {
          const found = await requirePlatform(opts.issuer, opts.clientId);
          if (!found) return;
          await removePlatform(lti, found);
          print(`Removed platform ${opts.issuer} (${opts.clientId}). Its deployments can no longer launch; their data is kept.`);
        }),
      );
    });

  const deployment = program.command('deployment').description('deployments (tenants) of a registered platform');
  // Both subcommands name one deployment of one registered platform.
  const onDeployment = (name: string, description: string, act: (platform: LtiPlatform, deploymentId: string, issuer: string) => Promise<void>) =>
    deployment
      .command(name)
      .description(description)
      .requiredOption('--issuer <url>', 'the platform issuer')
      .requiredOption('--client-id <id>', 'the client id')
      .requiredOption('--deployment <id>', 'the deployment id')
      .action(async (opts: { issuer: string; clientId: string; deployment: string }) => {
        await withRuntime({}, async () => {
          const found = await requirePlatform(opts.issuer, opts.clientId);
          if (found) await act(found, opts.deployment, opts.issuer);
        });
      });

  onDeployment('add', 'allow a deployment of a registered platform', async (platform, deploymentId, issuer) => {
    try {
      await addDeployment(platform, deploymentId, 'cli');
    } catch (err) {
      if (err instanceof RegistrationError) return fail(`Not added: ${err.message}.`);
      throw err;
    }
    print(`Deployment ${deploymentId} of ${issuer} can now launch FeedForward.`);
  });
  onDeployment('remove', 'switch a deployment off (launches and sessions stop at once; data is kept)', async (platform, deploymentId, issuer) => {
    if (!(await removeDeployment(platform, deploymentId))) return fail(`Deployment ${deploymentId} is not registered for ${issuer}.`);
    print(`Deployment ${deploymentId} of ${issuer} is switched off.`);
  });
}
