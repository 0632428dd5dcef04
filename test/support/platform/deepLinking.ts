import { isDeepStrictEqual } from 'node:util';
import express, { type Router } from 'express';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { CLAIM, isObject } from './fixtures';
import type { PlatformContext } from './platformContext';

/** A deep-linking request the platform issued, so the response can be checked against it. */
export interface DeepLinkRequestRecord {
  id: string;
  deploymentId: unknown;
  /** The `data` member of deep_linking_settings, which the tool must echo. */
  data?: unknown;
}

/** Receives LtiDeepLinkingResponse messages at the deep_link_return_url and checks them like an LMS. */
export class DeepLinkingInbox {
  readonly responses: Array<{ payload: Record<string, unknown> }> = [];
  readonly rejected: Array<{ jwt: string | undefined; error: string }> = [];
  private readonly requests = new Map<string, DeepLinkRequestRecord>();
  private latest?: string;
  private counter = 0;

  constructor(private readonly platform: PlatformContext) {}

  /**
   * The return URL for a new request: the captured query (Moodle's course/id/sesskey, Canvas's data)
   * kept, plus a `dl` parameter that ties the response back to its request.
   */
  returnUrl(captured: string): string {
    const url = new URL(`${this.platform.origin}/deep_links`);
    new URL(captured).searchParams.forEach((value, key) => url.searchParams.append(key, value));
    url.searchParams.set('dl', String(++this.counter));
    return url.href;
  }

  /** Records (or updates) the request a deep-linking payload stands for; called with the final signed claims. */
  track(payload: Record<string, unknown>): void {
    const settings = payload[CLAIM.deepLinkingSettings];
    if (payload[CLAIM.messageType] !== 'LtiDeepLinkingRequest' || !isObject(settings)) return;
    const id = this.requestIdOf(settings.deep_link_return_url) ?? `untracked-${++this.counter}`;
    this.requests.set(id, { id, deploymentId: payload[CLAIM.deploymentId], data: settings.data });
    this.latest = id;
  }

  /**
   * Verifies a deep-linking response JWT against the tool's keys and the request it answers
   * (by `dl` id, else the latest request) and returns its payload; throws with the reason otherwise.
   */
  async verify(jwt: string, requestId?: string): Promise<Record<string, unknown>> {
    const header = decodeProtectedHeader(jwt);
    if (header.alg !== 'RS256') throw new Error(`deep-linking response alg ${String(header.alg)}, expected RS256`);
    const { payload } = await jwtVerify(jwt, await this.platform.toolKeySet(), {
      algorithms: ['RS256'],
      issuer: this.platform.clientId,
      audience: this.platform.issuer,
      requiredClaims: ['iat', 'exp', 'nonce'],
    });
    const claims = payload as Record<string, unknown>;
    if (claims[CLAIM.messageType] !== 'LtiDeepLinkingResponse') throw new Error(`message_type ${String(claims[CLAIM.messageType])}`);
    if (claims[CLAIM.version] !== '1.3.0') throw new Error(`version ${String(claims[CLAIM.version])}`);
    const request = this.requests.get(requestId ?? this.latest ?? '');
    const deploymentId = claims[CLAIM.deploymentId];
    if (typeof deploymentId !== 'string') throw new Error('deployment_id missing');
    if (request && deploymentId !== request.deploymentId) {
      throw new Error(`deployment_id ${deploymentId}, request had ${String(request.deploymentId)}`);
    }
    if (request?.data !== undefined && !isDeepStrictEqual(claims[CLAIM.deepLinkingData], request.data)) {
      throw new Error('data claim does not echo the request data');
    }
    const items = claims[CLAIM.deepLinkingContentItems];
    if (items !== undefined && (!Array.isArray(items) || !items.every((item) => isObject(item) && typeof item.type === 'string'))) {
      throw new Error('content_items must be an array of typed items');
    }
    return claims;
  }

  router(): Router {
    const router = express.Router();
    router.post('/deep_links', express.urlencoded({ extended: false }), async (req, res) => {
      const jwt = typeof req.body?.JWT === 'string' ? (req.body.JWT as string) : undefined;
      try {
        if (!jwt) throw new Error('form field JWT missing');
        const payload = await this.verify(jwt, typeof req.query.dl === 'string' ? req.query.dl : undefined);
        this.responses.push({ payload });
        res.status(200).type('html').send('<!DOCTYPE html><html><body><p>Content added.</p></body></html>');
      } catch (error) {
        const message = (error as Error).message;
        this.rejected.push({ jwt, error: message });
        res.status(400).type('html').send(`<!DOCTYPE html><html><body><p>Invalid deep-linking response: ${escapeHtml(message)}</p></body></html>`);
      }
    });
    return router;
  }

  private requestIdOf(returnUrl: unknown): string | undefined {
    if (typeof returnUrl !== 'string') return undefined;
    try {
      const url = new URL(returnUrl);
      return url.origin === this.platform.origin ? url.searchParams.get('dl') ?? undefined : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Reads the tool's auto-submitting form (e.g. ltijs's deep-linking response page). */
export function extractAutoSubmitForm(html: string): { action: string; method: string; fields: Record<string, string> } {
  const form = /<form\b([^>]*)>([\s\S]*?)(?:<\/form>|$)/i.exec(html);
  if (!form) throw new Error('no <form> in the HTML');
  const formAttributes = attributes(form[1] ?? '');
  const fields: Record<string, string> = {};
  for (const input of (form[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
    const attrs = attributes(input[1] ?? '');
    if (attrs.name !== undefined) fields[attrs.name] = attrs.value ?? '';
  }
  for (const area of (form[2] ?? '').matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/gi)) {
    const attrs = attributes(area[1] ?? '');
    if (attrs.name !== undefined) fields[attrs.name] = decodeEntities(area[2] ?? '');
  }
  return { action: formAttributes.action ?? '', method: (formAttributes.method ?? 'GET').toUpperCase(), fields };
}

function attributes(text: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const match of text.matchAll(/([^\s=/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    const name = (match[1] ?? '').toLowerCase();
    found[name] = decodeEntities(match[2] ?? match[3] ?? match[4] ?? '');
  }
  return found;
}

function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+|#39);/gi, (entity, code: string) => {
    if (/^#x/i.test(code)) return String.fromCodePoint(parseInt(code.slice(2), 16));
    if (/^#\d+$/.test(code)) return String.fromCodePoint(Number(code.slice(1)));
    return named[code.toLowerCase()] ?? entity;
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
