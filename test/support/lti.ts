import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { addDeployment, registerPlatform } from '../../src/lti/platforms';
import type { LtiPlatform } from '../../src/models';
import { createTestContext, TestContext } from './context';
import { TestPlatform, type FixtureName, type LaunchOptions, type LaunchResult, type StartOptions } from './platform';

// The app plus a registered test platform: what most LTI tests start from.

export interface LtiHarness {
  ctx: TestContext;
  platform: TestPlatform;
  registration: LtiPlatform;
  deploymentId: string;
  toolUrl: string;
  /** A full OIDC launch of this fixture against the app (deployment and tool URL filled in). */
  launch(fixture: FixtureName, opts?: Partial<LaunchOptions>): Promise<LaunchResult>;
  /** Registers another platform (or another client of the same issuer) with one deployment. */
  addPlatform(opts?: StartOptions & { acceptNewDeployments?: boolean; deploymentId?: string }): Promise<{ platform: TestPlatform; registration: LtiPlatform; deploymentId: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions extends StartOptions {
  acceptNewDeployments?: boolean;
  env?: Record<string, string | undefined>;
  databaseUrl?: string;
}

export async function startLtiHarness(opts: HarnessOptions = {}): Promise<LtiHarness> {
  const ctx = await createTestContext(opts.env, opts.databaseUrl);
  const platforms: TestPlatform[] = [];

  const addPlatform: LtiHarness['addPlatform'] = async (p = {}) => {
    const platform = await TestPlatform.start(p);
    platforms.push(platform);
    platform.setToolJwks(async () => (await request(ctx.app).get('/lti/keys')).body as { keys: unknown[] });
    const registration = await registerPlatform(
      ctx.app.lti,
      {
        issuer: platform.issuer,
        clientId: platform.clientId,
        name: `Test ${platform.flavour}`,
        authUrl: platform.authUrl,
        tokenUrl: platform.tokenUrl,
        jwksUrl: platform.jwksUrl,
        authorizationServer: platform.authorizationServer,
        acceptNewDeployments: p.acceptNewDeployments ?? false,
        registeredVia: 'cli',
      },
      { allowLocalUrls: true },
    );
    const deploymentId = p.deploymentId ?? `dep-${randomUUID().slice(0, 8)}`;
    await addDeployment(registration, deploymentId, 'cli');
    return { platform, registration, deploymentId };
  };

  const first = await addPlatform(opts);
  const toolUrl = ctx.config.publicUrl;
  return {
    ctx,
    platform: first.platform,
    registration: first.registration,
    deploymentId: first.deploymentId,
    toolUrl,
    launch: (fixture, launchOpts = {}) => first.platform.launch(ctx.app, { fixture, deploymentId: first.deploymentId, toolUrl, ...launchOpts }),
    addPlatform,
    close: async () => {
      await Promise.all(platforms.map((p) => p.close()));
      await ctx.close();
    },
  };
}

/** GET /api/v1/me with this ltik. */
export function me(ctx: TestContext, ltik: string | undefined) {
  return request(ctx.app).get('/api/v1/me').set('Authorization', `Bearer ${ltik ?? ''}`);
}
