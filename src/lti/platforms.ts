import { Deployment, LtiPlatform } from '../models';
import { outboundUrlProblem } from '../net/outboundUrl';
import type { Ltijs } from './ltijs';

// Registering LMSs and their deployments, for the CLI, dynamic registration and tests. Our
// lti_platforms row is what launches check; ltijs gets the same registration for its tool keys and
// AGS/NRPS/deep-linking clients. Everything is read from the database per launch, so a change made
// by any process takes effect at once.

export class RegistrationError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'RegistrationError';
  }
}

export interface PlatformInput {
  issuer: string;
  clientId: string;
  name?: string;
  authUrl: string;
  tokenUrl: string;
  jwksUrl: string;
  authorizationServer?: string | null;
  acceptNewDeployments?: boolean;
  registeredVia: 'cli' | 'dynamic';
  product?: string | null;
}

/** Checks every URL of a registration; returns the problems (empty when fine). */
export function platformProblems(input: PlatformInput, allowLocalUrls: boolean): string[] {
  const problems: string[] = [];
  const policy = { allowLocalhost: allowLocalUrls };
  const urls: Array<[string, string | null | undefined]> = [
    ['issuer', input.issuer],
    ['auth URL', input.authUrl],
    ['token URL', input.tokenUrl],
    ['JWKS URL', input.jwksUrl],
    ['authorization server', input.authorizationServer],
  ];
  for (const [label, value] of urls) {
    if (value === undefined || value === null || value === '') {
      if (label !== 'authorization server') problems.push(`${label} is required`);
      continue;
    }
    if (label === 'authorization server' && !/^https?:\/\//.test(value)) continue; // may be a plain identifier
    const problem = outboundUrlProblem(value, policy);
    if (problem) problems.push(`${label} ${problem}`);
  }
  if (!input.clientId || input.clientId.length > 255) problems.push('client id is required (at most 255 characters)');
  return problems;
}

/** Creates or updates a platform, in our table and in ltijs. */
export async function registerPlatform(lti: Ltijs, input: PlatformInput, opts: { allowLocalUrls: boolean; active?: boolean }): Promise<LtiPlatform> {
  const problems = platformProblems(input, opts.allowLocalUrls);
  if (problems.length) throw new RegistrationError(problems);
  const name = (input.name ?? new URL(input.issuer).host).slice(0, 200);
  await lti.registerPlatform({
    url: input.issuer,
    name,
    clientId: input.clientId,
    authenticationEndpoint: input.authUrl,
    accesstokenEndpoint: input.tokenUrl,
    authorizationServer: input.authorizationServer ?? undefined,
    authConfig: { method: 'JWK_SET', key: input.jwksUrl },
  });
  const values = {
    issuer: input.issuer,
    clientId: input.clientId,
    name,
    authUrl: input.authUrl,
    tokenUrl: input.tokenUrl,
    jwksUrl: input.jwksUrl,
    authorizationServer: input.authorizationServer ?? null,
    acceptNewDeployments: input.acceptNewDeployments ?? false,
    registeredVia: input.registeredVia,
    product: input.product ?? null,
    active: opts.active ?? true,
  };
  const existing = await LtiPlatform.findOne({ where: { issuer: input.issuer, clientId: input.clientId } });
  return existing ? existing.update(values) : LtiPlatform.create(values);
}

export async function findPlatform(issuer: string, clientId: string): Promise<LtiPlatform | null> {
  return LtiPlatform.findOne({ where: { issuer, clientId } });
}

/** Why a deployment id cannot be stored, or null when it can; checked before registering anything. */
export function deploymentIdProblem(deploymentId: string): string | null {
  return /^[\x20-\x7e]{1,255}$/.test(deploymentId) ? null : 'deployment id must be 1 to 255 printable ASCII characters';
}

/** Allows one deployment of a platform (re-activating it if it was removed). */
export async function addDeployment(platform: LtiPlatform, deploymentId: string, via: string): Promise<Deployment> {
  const problem = deploymentIdProblem(deploymentId);
  if (problem) throw new RegistrationError([problem]);
  const key = { issuer: platform.issuer, clientId: platform.clientId, deploymentId };
  const existing = await Deployment.findOne({ where: key });
  if (existing) return existing.update({ active: true, platformId: platform.id });
  return Deployment.create({ ...key, platformId: platform.id, registeredVia: via, name: platform.name });
}

/** Switches a deployment off: its launches, sessions and keys stop working at once; its data stays. */
export async function removeDeployment(platform: LtiPlatform, deploymentId: string): Promise<boolean> {
  const [count] = await Deployment.update({ active: false }, { where: { issuer: platform.issuer, clientId: platform.clientId, deploymentId } });
  return count > 0;
}

/** Removes a platform registration (and ltijs's keys for it); its deployments are switched off. */
export async function removePlatform(lti: Ltijs, platform: LtiPlatform): Promise<void> {
  await Deployment.update({ active: false }, { where: { issuer: platform.issuer, clientId: platform.clientId } });
  await lti.deletePlatform(platform.issuer, platform.clientId).catch(() => false);
  await platform.destroy();
}

/** What an LMS admin pastes into the LMS when registering the tool by hand. */
export function toolEndpoints(publicUrl: string) {
  return {
    loginUrl: `${publicUrl}/lti/login`,
    launchUrl: `${publicUrl}/lti/launch`,
    jwksUrl: `${publicUrl}/lti/keys`,
    deepLinkingUrl: `${publicUrl}/lti/launch`,
    dynamicRegistrationUrl: `${publicUrl}/lti/register`,
    canvasConfigUrl: `${publicUrl}/lti/config.json`,
    domain: new URL(publicUrl).host,
  };
}
