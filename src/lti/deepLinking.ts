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

/** What a deep-linked FeedForward link carries: its title, launch URL, custom parameters and, optionally, a gradebook column. */
export interface ResourceLinkItemOptions {
  title: string;
  /** The tool's launch URL (`${publicUrl}/lti/launch`). */
  url: string;
  /** Custom parameters the LMS sends back on every launch of the link (values are strings). */
  custom?: Record<string, string>;
  /** A gradebook column the LMS creates with the link (AGS); omit for no column. */
  lineItem?: { scoreMaximum: number; label: string; resourceId?: string; tag?: string };
}

/** An `ltiResourceLink` content item for a deep-linking response; empty optional parts are left out. */
export function resourceLinkItem(opts: ResourceLinkItemOptions): ContentItem {
  const item: ContentItem = { type: 'ltiResourceLink', title: opts.title, url: opts.url };
  if (opts.custom && Object.keys(opts.custom).length) item.custom = { ...opts.custom };
  if (opts.lineItem) {
    if (!Number.isFinite(opts.lineItem.scoreMaximum) || opts.lineItem.scoreMaximum <= 0) throw badRequest('A gradebook column needs a maximum score above 0.');
    const { scoreMaximum, label, resourceId, tag } = opts.lineItem;
    item.lineItem = { scoreMaximum, label, ...(resourceId ? { resourceId } : {}), ...(tag ? { tag } : {}) };
  }
  return item;
}
