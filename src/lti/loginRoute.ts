import type { RequestHandler } from 'express';
import { LtiPlatform } from '../models';
import { launchError } from './launchErrors';
import { sameOrigin } from './launchValidator';
import { LOGIN_STATE_TTL_MS, LoginStates, STATE_COOKIE } from './loginStates';

// OIDC login initiation (GET and POST). Replaces ltijs's, which uses Math.random nonces it never
// checks and redirects to whatever target_link_uri it is given.

const param = (params: Record<string, unknown>, name: string): string | undefined => {
  const value = params[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
};

export function loginRoute(deps: { loginStates: LoginStates; publicUrl: string }): RequestHandler {
  const launchUrl = `${deps.publicUrl}/lti/launch`;
  return (req, res, next) => {
    void (async () => {
      const params = { ...(req.query as Record<string, unknown>), ...((req.body ?? {}) as Record<string, unknown>) };
      const iss = param(params, 'iss');
      const loginHint = param(params, 'login_hint');
      const targetLinkUri = param(params, 'target_link_uri');
      if (!iss || !loginHint || !targetLinkUri) {
        throw launchError('missing_parameters', 'The LMS did not send iss, login_hint and target_link_uri. Check the tool registration in your LMS.');
      }
      const clientId = param(params, 'client_id');
      const where = clientId ? { issuer: iss, clientId } : { issuer: iss };
      const deploymentHint = param(params, 'lti_deployment_id');
      const targetOk = sameOrigin(targetLinkUri, deps.publicUrl) && targetLinkUri.length <= 1024;
      const hintOk = !deploymentHint || /^[\x20-\x7e]{1,255}$/.test(deploymentHint);
      // On PostgreSQL a login that passes the checks below is read and recorded in one statement.
      const combined = targetOk && hintOk && deps.loginStates.combinesLogin() ? await deps.loginStates.createForPlatform(where, { deploymentHint: deploymentHint ?? null, targetLinkUri }) : null;
      const candidates = combined ? combined.platforms : await LtiPlatform.findAll({ where, limit: 2 });
      // Hosted Canvas shares one issuer across schools: without client_id we cannot pick safely.
      if (candidates.length !== 1) throw launchError('unknown_platform', 'This LMS is not registered with FeedForward. Ask your LMS administrator to register the tool.');
      const platform = candidates[0]!;
      if (!platform.active) throw launchError('platform_inactive', 'This LMS registration is not active yet. Ask your LMS administrator to finish registering the tool.');
      if (!targetOk) throw launchError('bad_target_link_uri');
      if (!hintOk) throw launchError('bad_deployment_id');

      const login = combined?.login ?? (await deps.loginStates.create({ issuer: platform.issuer, clientId: platform.clientId, deploymentHint: deploymentHint ?? null, targetLinkUri }));
      // Read at launch: it ties the launch to the browser that logged in.
      res.cookie(`state${login.state}`, platform.issuer, { ...STATE_COOKIE, signed: true, maxAge: LOGIN_STATE_TTL_MS });

      const auth = new URL(platform.authUrl);
      const query: Record<string, string | undefined> = {
        response_type: 'id_token',
        response_mode: 'form_post',
        id_token_signed_response_alg: 'RS256',
        scope: 'openid',
        client_id: platform.clientId,
        redirect_uri: launchUrl, // always our own launch URL, never an input
        login_hint: loginHint,
        lti_message_hint: param(params, 'lti_message_hint'),
        lti_deployment_id: deploymentHint,
        nonce: login.nonce,
        state: login.state,
        prompt: 'none',
      };
      for (const [key, value] of Object.entries(query)) if (value !== undefined) auth.searchParams.set(key, value);
      res.redirect(302, auth.toString());
    })().catch(next);
  };
}
