import type { ContentItem } from 'ltijs';
import { badRequest } from '../errors';
import type { LtiLaunch } from '../models';
import { outboundUrlProblem } from '../net/outboundUrl';
import { idTokenFor } from './idToken';
import type { Ltijs } from './ltijs';

export interface DeepLinkingResponse {
  returnUrl: string;
  jwt: string;
}

/** Signs an LtiDeepLinkingResponse for this deep-linking launch; the caller renders our own escaped form. */
export async function deepLinkingResponse(lti: Ltijs, launch: LtiLaunch, items: ContentItem[], opts: { allowLocalUrls: boolean; message?: string }): Promise<DeepLinkingResponse> {
  const settings = launch.claims.deepLinkingSettings;
  const returnUrl = typeof settings?.deep_link_return_url === 'string' ? settings.deep_link_return_url : undefined;
  if (!returnUrl) throw badRequest('This launch did not come from a deep-linking request.');
  const problem = outboundUrlProblem(returnUrl, { allowLocalhost: opts.allowLocalUrls });
  if (problem) throw badRequest(`The LMS return address ${problem}.`);
  const jwt = await lti.DeepLinking.createDeepLinkingMessage(idTokenFor(launch.claims, launch.messageType), items, { message: opts.message });
  return { returnUrl, jwt };
}
