import type { IdToken } from 'ltijs';
import type { LaunchClaims } from '../models/LtiLaunch';

/** The id_token shape ltijs's AGS/NRPS/deep-linking clients expect, rebuilt from a stored launch. */
export function idTokenFor(claims: LaunchClaims, messageType?: string): IdToken {
  return {
    iss: claims.issuer,
    user: claims.sub,
    clientId: claims.clientId,
    deploymentId: claims.deploymentId,
    platformContext: {
      messageType,
      roles: claims.roles,
      endpoint: claims.ags,
      namesRoles: claims.nrps,
      deepLinkingSettings: claims.deepLinkingSettings,
      custom: claims.custom,
    },
  };
}
