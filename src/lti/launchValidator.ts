import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { Sequelize, UniqueConstraintError } from 'sequelize';
import type { Deployment, LtiPlatform } from '../models';
import { CLAIM, MESSAGE_TYPES, objectClaim, str } from './claims';
import { launchError, LaunchError } from './launchErrors';
import { JwksCache, JwksError } from './jwksCache';
import { LoginStates } from './loginStates';

// The launch validator: a chain of small named checks, each passing or throwing a precise
// LaunchError. It covers what ltijs 5.9.9 checks and what it does not (nonce binding, replay by
// unique constraint, deployment, iat in the future, extra audiences, azp, target_link_uri).

export const MAX_ID_TOKEN_BYTES = 64 * 1024;
const EXP_LEEWAY_SECONDS = 30;
const FORBIDDEN_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'crit'];
const ASCII_PRINTABLE = /^[\x20-\x7e]{1,255}$/;

export interface ValidatedLaunch {
  payload: Record<string, unknown>;
  platform: LtiPlatform;
  clientId: string;
  deploymentId: string;
  /** Our login nonce, and until when its used-nonce record must be kept. */
  nonce: string;
  nonceExpiresAt: Date;
  /** This launch's registered deployment as read with the login (null when not registered); the resolver checks it is active. */
  deployment: Deployment | null;
  messageType: (typeof MESSAGE_TYPES)[number];
  targetLinkUri: string;
  state: string;
}

export interface LaunchValidatorDeps {
  jwks: JwksCache;
  loginStates: LoginStates;
  /** Our own launch URL: target_link_uri must be on this origin. */
  publicUrl: string;
  idTokenMaxAgeSeconds: number;
}

export interface LaunchInput {
  idToken: unknown;
  state: unknown;
  /** The value of our signed `state<state>` cookie (the issuer), if the browser sent it. */
  stateCookie: string | undefined;
}

function checkSize(idToken: unknown): string {
  if (typeof idToken !== 'string' || idToken.length === 0) throw launchError('malformed_token');
  if (idToken.length > MAX_ID_TOKEN_BYTES) throw launchError('token_too_large', 'The launch message is too large.');
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(idToken)) throw launchError('malformed_token');
  return idToken;
}

function checkHeader(idToken: string): { kid: string } {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(idToken);
  } catch {
    throw launchError('malformed_token');
  }
  if (header.alg !== 'RS256') throw launchError('bad_algorithm');
  if (FORBIDDEN_HEADERS.some((h) => h in header)) throw launchError('forbidden_header');
  if (typeof header.kid !== 'string' || header.kid.length === 0) throw launchError('missing_kid');
  return { kid: header.kid };
}

/** The payload as claimed (not yet verified), or null when it is not a JSON object. */
function unverifiedPayload(idToken: string): Record<string, unknown> | null {
  try {
    const part = idToken.split('.')[1]!;
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
    return value as Record<string, unknown>;
  } catch {
    return null;
  }
}

function checkAudience(payload: Record<string, unknown>, clientId: string): void {
  const aud = payload.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.every((a) => typeof a === 'string') || !audiences.includes(clientId)) throw launchError('wrong_audience');
  if (audiences.some((a) => a !== clientId)) throw launchError('untrusted_audience');
  const azp = payload.azp;
  if (audiences.length > 1 && azp === undefined) throw launchError('azp_mismatch');
  if (azp !== undefined && azp !== clientId) throw launchError('azp_mismatch');
}

async function verifySignature(deps: LaunchValidatorDeps, idToken: string, platform: LtiPlatform): Promise<Record<string, unknown>> {
  try {
    const { payload } = await jwtVerify(idToken, (header) => deps.jwks.getKey(platform.jwksUrl, header), {
      algorithms: ['RS256'],
      issuer: platform.issuer,
      clockTolerance: EXP_LEEWAY_SECONDS,
      maxTokenAge: deps.idTokenMaxAgeSeconds,
      requiredClaims: ['exp', 'iat', 'nonce', 'sub'],
    });
    return payload as Record<string, unknown>;
  } catch (err) {
    if (err instanceof JwksError) throw launchError(err.code === 'unknown_kid' ? 'unknown_kid' : 'jwks_unreachable');
    // jose reports an iat beyond maxTokenAge as JWTExpired, and an iat in the future as "it should be in the past".
    if (err instanceof joseErrors.JWTExpired) {
      if (err.claim === 'iat') throw launchError('too_old', 'This launch is too old. Go back to your course and open the tool again.');
      throw launchError('expired', 'This launch has expired. Go back to your course and open the tool again.');
    }
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      if (err.claim === 'iat' && err.reason === 'check_failed') throw launchError('issued_in_future');
      throw launchError('missing_claims');
    }
    throw launchError('bad_signature');
  }
}

function checkClaims(payload: Record<string, unknown>, expectedTarget: string, publicUrl: string, deploymentHint: string | null) {
  const messageType = payload[CLAIM.messageType];
  if (typeof messageType !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(messageType)) throw launchError('wrong_message_type');
  if (payload[CLAIM.version] !== '1.3.0') throw launchError('wrong_version');

  const deploymentId = payload[CLAIM.deploymentId];
  if (typeof deploymentId !== 'string' || !ASCII_PRINTABLE.test(deploymentId)) throw launchError('bad_deployment_id');
  if (deploymentHint && deploymentHint !== deploymentId) throw launchError('deployment_mismatch');

  if (!(CLAIM.roles in payload)) throw launchError('missing_roles');
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255) throw launchError('bad_sub');

  if (messageType === 'LtiResourceLinkRequest' && !str(objectClaim(payload, CLAIM.resourceLink), 'id')) throw launchError('missing_resource_link');

  const target = payload[CLAIM.targetLinkUri];
  if (typeof target !== 'string' || target !== expectedTarget || !sameOrigin(target, publicUrl)) throw launchError('target_link_uri_mismatch');

  return { messageType: messageType as ValidatedLaunch['messageType'], deploymentId, targetLinkUri: target };
}

export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/**
 * Runs every check in order, writing nothing; returns the verified launch or throws a LaunchError.
 * The login is not consumed yet: the caller must consumeLogin() (or do the same in its own
 * statement, see launchResolver.ts) before it acts on the launch.
 */
export async function checkLaunch(deps: LaunchValidatorDeps, input: LaunchInput): Promise<ValidatedLaunch> {
  const idToken = checkSize(input.idToken);
  checkHeader(idToken);

  if (typeof input.state !== 'string' || input.state.length === 0 || input.state.length > 64) throw launchError('missing_state');
  // The claimed deployment only picks which deployment row to read along with the login (one round
  // trip); nothing read is trusted before the signature is checked, and the verified claim must match.
  const claimed = unverifiedPayload(idToken);
  const claimedDeployment = claimed?.[CLAIM.deploymentId];
  const found = await deps.loginStates.findForLaunch(input.state, typeof claimedDeployment === 'string' && ASCII_PRINTABLE.test(claimedDeployment) ? claimedDeployment : null);
  if (!found) throw launchError('unknown_state');
  const { login, platform } = found;
  if (!input.stateCookie || input.stateCookie !== login.issuer) {
    throw launchError('missing_state_cookie', 'Your browser did not keep the launch cookie. Allow cookies for this tool, or open it in a new window, and launch again.');
  }

  if (!claimed) throw launchError('malformed_token');
  if (claimed.iss !== login.issuer) throw launchError('issuer_mismatch');
  if (!platform) throw launchError('unknown_platform');
  if (!platform.active) throw launchError('platform_inactive', 'This LMS registration is not active yet. Ask your LMS administrator to finish registering the tool.');
  checkAudience(claimed, platform.clientId);

  const payload = await verifySignature(deps, idToken, platform);
  if (payload.nonce !== login.nonce) throw launchError('nonce_mismatch');
  const claims = checkClaims(payload, login.targetLinkUri, deps.publicUrl, login.deploymentHint);
  const deployment = found.deployment?.deploymentId === claims.deploymentId ? found.deployment : null;

  const expSeconds = typeof payload.exp === 'number' ? payload.exp : Date.now() / 1000;
  const nonceExpiresAt = new Date((expSeconds + EXP_LEEWAY_SECONDS + 3600) * 1000);
  return { payload, platform, clientId: platform.clientId, state: input.state, nonce: login.nonce, nonceExpiresAt, deployment, ...claims };
}

/**
 * Single use: ends the login of a checked launch (the state row goes, the nonce is recorded; its
 * primary key refuses a second use), refusing it as replayed if another request got there first.
 */
export async function consumeLogin(loginStates: LoginStates, launch: ValidatedLaunch): Promise<void> {
  let consumed: boolean;
  try {
    consumed = await loginStates.consume(launch.state, launch.nonce, launch.nonceExpiresAt);
  } catch (err) {
    if (err instanceof UniqueConstraintError) throw launchError('replayed');
    throw err;
  }
  if (!consumed) throw launchError('replayed');
}

/** Deletes used nonces whose tokens can no longer be valid anyway. */
export async function purgeUsedNonces(sequelize: Sequelize): Promise<void> {
  await sequelize.query('DELETE FROM lti_used_nonces WHERE expires_at < :now', { replacements: { now: new Date() } });
}

export { LaunchError };
