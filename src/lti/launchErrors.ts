import { HttpError } from '../errors';

// Why a login or launch was refused. Each code has a status and a sentence a person can act on;
// none of them echoes the request.

export type LaunchErrorCode =
  | 'missing_parameters' | 'unknown_platform' | 'platform_inactive' | 'bad_target_link_uri'
  | 'token_too_large' | 'malformed_token' | 'bad_algorithm' | 'missing_kid' | 'forbidden_header'
  | 'missing_state' | 'unknown_state' | 'missing_state_cookie' | 'issuer_mismatch' | 'wrong_audience'
  | 'untrusted_audience' | 'azp_mismatch' | 'bad_signature' | 'unknown_kid' | 'jwks_unreachable'
  | 'expired' | 'issued_in_future' | 'too_old' | 'missing_claims' | 'nonce_mismatch' | 'replayed'
  | 'wrong_message_type' | 'wrong_version' | 'bad_deployment_id' | 'deployment_mismatch'
  | 'missing_roles' | 'missing_resource_link' | 'bad_sub' | 'target_link_uri_mismatch'
  | 'unregistered_deployment' | 'deployment_inactive' | 'no_access' | 'session_expired' | 'invalid_session';

const STATUS: Partial<Record<LaunchErrorCode, number>> = {
  token_too_large: 413,
  no_access: 403,
  unregistered_deployment: 403,
  deployment_inactive: 403,
  platform_inactive: 403,
  session_expired: 401,
  invalid_session: 401,
};

export class LaunchError extends HttpError {
  constructor(
    override readonly code: LaunchErrorCode,
    message: string,
    readonly detail?: Record<string, string>,
  ) {
    super(STATUS[code] ?? 400, code, message);
    this.name = 'LaunchError';
  }
}

const GENERIC = 'The launch could not be verified. Go back to your course and open the tool again. If it keeps happening, tell your LMS administrator.';

export const launchError = (code: LaunchErrorCode, message = GENERIC, detail?: Record<string, string>) => new LaunchError(code, message, detail);
