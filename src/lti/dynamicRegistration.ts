import { Router } from 'express';
import type { Config } from '../config';
import { HttpError } from '../errors';
import { setFrameAncestors } from '../middlewares/securityHeaders';
import { outboundUrlProblem } from '../net/outboundUrl';
import { SCOPES } from './claims';
import type { Ltijs } from './ltijs';
import { addDeployment, deploymentIdProblem, registerPlatform, RegistrationError, toolEndpoints } from './platforms';

// LTI Dynamic Registration (Moodle 4.x and Canvas). ltijs's own flow fetches any URL, never checks
// the issuer and drops the deployment_id, so the flow is ours: GET shows what will be registered,
// POST registers it. Nothing is stored until the platform has confirmed the registration.

const TOOL_CONFIG = 'https://purl.imsglobal.org/spec/lti-tool-configuration';
const PLATFORM_CONFIG = 'https://purl.imsglobal.org/spec/lti-platform-configuration';
const FETCH_TIMEOUT_MS = 10000;

interface OpenIdConfiguration {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  registration_endpoint: string;
  authorization_server?: string;
  [PLATFORM_CONFIG]?: { product_family_code?: string; version?: string };
}

const refuse = (message: string) => new HttpError(400, 'registration_refused', message);

async function fetchJson(url: string, init: RequestInit): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch {
    throw refuse(`The LMS at ${new URL(url).host} did not answer.`);
  }
  const text = await res.text();
  if (!res.ok) throw refuse(`The LMS answered HTTP ${res.status} at ${new URL(url).pathname}.`);
  if (text.length > 512 * 1024) throw refuse('The LMS answer is too large.');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw refuse('The LMS answer is not JSON.');
  }
}

/** Fetches and checks the platform's openid-configuration: allowed URLs only, issuer on the same origin. */
async function loadConfiguration(configUrl: unknown, token: string | undefined, config: Config): Promise<OpenIdConfiguration> {
  const policy = { allowLocalhost: config.allowLocalUrls };
  if (typeof configUrl !== 'string') throw refuse('The LMS did not send openid_configuration. Start the registration from your LMS.');
  const problem = outboundUrlProblem(configUrl, policy);
  if (problem) throw refuse(`The openid_configuration URL ${problem}.`);
  const body = (await fetchJson(configUrl, { headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } })) as Partial<OpenIdConfiguration>;
  for (const field of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri', 'registration_endpoint'] as const) {
    const value = body[field];
    if (typeof value !== 'string') throw refuse(`The LMS configuration has no ${field}.`);
    const urlProblem = outboundUrlProblem(value, policy);
    if (urlProblem) throw refuse(`The LMS ${field} ${urlProblem}.`);
  }
  // Canvas announces a host name (the client assertion aud); a URL is checked like registerPlatform does.
  const server = body.authorization_server;
  if (server !== undefined && (typeof server !== 'string' || !server)) throw refuse('The LMS authorization_server is not a string.');
  const serverProblem = server && /^https?:\/\//.test(server) ? outboundUrlProblem(server, policy) : null;
  if (serverProblem) throw refuse(`The LMS authorization_server ${serverProblem}.`);
  if (new URL(body.issuer!).origin !== new URL(configUrl).origin) {
    throw refuse('The issuer in the LMS configuration does not match the address it was fetched from.');
  }
  return body as OpenIdConfiguration;
}

/** The registration we ask the platform to create. */
function registrationRequest(config: Config, product: string | undefined): Record<string, unknown> {
  const urls = toolEndpoints(config.publicUrl);
  const canvas = product === 'canvas';
  return {
    application_type: 'web',
    response_types: ['id_token'],
    grant_types: ['implicit', 'client_credentials'],
    initiate_login_uri: urls.loginUrl,
    redirect_uris: [urls.launchUrl],
    client_name: 'FeedForward',
    jwks_uri: urls.jwksUrl,
    token_endpoint_auth_method: 'private_key_jwt',
    scope: [SCOPES.agsLineItem, SCOPES.agsLineItemReadonly, SCOPES.agsResultReadonly, SCOPES.agsScore, SCOPES.nrps].join(' '),
    [TOOL_CONFIG]: {
      domain: urls.domain,
      description: 'Rubric-based AI feedback on student submissions, reviewed by instructors.',
      target_link_uri: urls.launchUrl,
      claims: ['iss', 'sub', 'name', 'given_name', 'family_name', 'email', 'picture', 'locale'],
      messages: [
        { type: 'LtiResourceLinkRequest', target_link_uri: urls.launchUrl, label: 'FeedForward', ...(canvas ? { placements: ['course_navigation'] } : {}) },
        {
          type: 'LtiDeepLinkingRequest',
          target_link_uri: urls.launchUrl,
          label: 'FeedForward AI feedback',
          ...(canvas ? { placements: ['https://canvas.instructure.com/lti/assignment_selection', 'https://canvas.instructure.com/lti/link_selection'] } : {}),
        },
      ],
      ...(canvas ? { 'https://canvas.instructure.com/lti/privacy_level': 'public' } : {}),
    },
  };
}

export function dynamicRegistrationRoutes(deps: { lti: Ltijs; config: Config }): Router {
  const { lti, config } = deps;
  const router = Router();

  router.get('/', (req, res, next) => {
    void (async () => {
      const token = typeof req.query.registration_token === 'string' ? req.query.registration_token : undefined;
      const platform = await loadConfiguration(req.query.openid_configuration, token, config);
      setFrameAncestors(res, [new URL(platform.issuer).origin]);
      res.render('lti/register', {
        title: 'Register FeedForward',
        issuer: platform.issuer,
        product: platform[PLATFORM_CONFIG]?.product_family_code ?? 'LMS',
        openidConfiguration: req.query.openid_configuration,
        registrationToken: token,
      });
    })().catch(next);
  });

  router.post('/', (req, res, next) => {
    void (async () => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const token = typeof body.registration_token === 'string' && body.registration_token ? body.registration_token : undefined;
      const platform = await loadConfiguration(body.openid_configuration, token, config);
      const product = platform[PLATFORM_CONFIG]?.product_family_code;
      const response = (await fetchJson(platform.registration_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(registrationRequest(config, product)),
      })) as Record<string, unknown>;
      const clientId = response.client_id;
      if (typeof clientId !== 'string' || !clientId) throw refuse('The LMS did not confirm the registration (no client_id).');
      // Moodle puts deployment_id in the tool configuration, Canvas at the top level.
      const toolConfig = (response[TOOL_CONFIG] ?? {}) as Record<string, unknown>;
      const deploymentId = [toolConfig.deployment_id, response.deployment_id].find((v) => typeof v === 'string' && v.length > 0) as string | undefined;
      const deploymentProblem = deploymentId === undefined ? null : deploymentIdProblem(deploymentId);
      if (deploymentProblem) throw refuse(`The LMS returned a deployment_id the tool cannot use: ${deploymentProblem}.`);

      const registered = await registerPlatform(
        lti,
        {
          issuer: platform.issuer,
          clientId,
          name: product ? `${product} (${new URL(platform.issuer).host})` : new URL(platform.issuer).host,
          authUrl: platform.authorization_endpoint,
          tokenUrl: platform.token_endpoint,
          jwksUrl: platform.jwks_uri,
          authorizationServer: platform.authorization_server ?? null,
          registeredVia: 'dynamic',
          product: product ?? null,
        },
        { allowLocalUrls: config.allowLocalUrls },
      ).catch((err: unknown) => {
        if (err instanceof RegistrationError) throw refuse(`The registration the LMS returned cannot be stored: ${err.message}.`);
        throw err;
      });
      if (deploymentId) await addDeployment(registered, deploymentId, 'dynamic');
      setFrameAncestors(res, [new URL(platform.issuer).origin]);
      res.render('lti/registered', { title: 'FeedForward registered', issuer: platform.issuer, deploymentId, nonce: res.locals.cspNonce });
    })().catch(next);
  });
  return router;
}
