import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES } from '../paths';
import { signHs256Sync } from './keys';

/** Claim names used by the platform (LTI 1.3 core, AGS, NRPS, deep linking). */
export const CLAIM = {
  messageType: 'https://purl.imsglobal.org/spec/lti/claim/message_type',
  version: 'https://purl.imsglobal.org/spec/lti/claim/version',
  deploymentId: 'https://purl.imsglobal.org/spec/lti/claim/deployment_id',
  targetLinkUri: 'https://purl.imsglobal.org/spec/lti/claim/target_link_uri',
  roles: 'https://purl.imsglobal.org/spec/lti/claim/roles',
  context: 'https://purl.imsglobal.org/spec/lti/claim/context',
  resourceLink: 'https://purl.imsglobal.org/spec/lti/claim/resource_link',
  custom: 'https://purl.imsglobal.org/spec/lti/claim/custom',
  ext: 'https://purl.imsglobal.org/spec/lti/claim/ext',
  lti11UserId: 'https://purl.imsglobal.org/spec/lti/claim/lti11_legacy_user_id',
  ags: 'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint',
  nrps: 'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice',
  deepLinkingSettings: 'https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings',
  deepLinkingData: 'https://purl.imsglobal.org/spec/lti-dl/claim/data',
  deepLinkingContentItems: 'https://purl.imsglobal.org/spec/lti-dl/claim/content_items',
  toolConfiguration: 'https://purl.imsglobal.org/spec/lti-tool-configuration',
} as const;

export const FIXTURE_NAMES = [
  'moodle-student',
  'moodle-teacher',
  'moodle-admin',
  'moodle-non-editing-teacher',
  'moodle-deep-linking',
  'canvas-admin',
  'canvas-teacher',
  'canvas-student',
  'canvas-student-no-services',
  'canvas-deep-linking',
] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];
export type Flavour = 'moodle' | 'canvas';

/** Where each fixture's decoded payload lives, and which captured login request belongs to it. */
const SOURCES: Record<FixtureName, { file: string; pick: (json: Json) => unknown; moodleLogin?: string }> = {
  'moodle-student': { file: 'moodle-4.5/id_token.student-resource-link.json', pick: (j) => j.payload, moodleLogin: 'student' },
  'moodle-teacher': { file: 'moodle-4.5/id_token.teacher-resource-link.json', pick: (j) => j.payload, moodleLogin: 'teacher' },
  'moodle-admin': { file: 'moodle-4.5/id_token.admin-resource-link.json', pick: (j) => j.payload, moodleLogin: 'admin' },
  'moodle-non-editing-teacher': {
    file: 'moodle-4.5/id_token.non-editing-teacher-resource-link.json',
    pick: (j) => j.payload,
    moodleLogin: 'ta',
  },
  'moodle-deep-linking': {
    file: 'moodle-4.5/id_token.teacher-deep-linking-request.json',
    pick: (j) => j.payload,
    moodleLogin: 'deeplink',
  },
  'canvas-admin': { file: 'canvas/id_token.resource-link.json', pick: (j) => j.payloads.admin },
  'canvas-teacher': { file: 'canvas/id_token.resource-link.json', pick: (j) => j.payloads.teacher },
  'canvas-student': { file: 'canvas/id_token.resource-link.json', pick: (j) => j.payloads.student },
  'canvas-student-no-services': {
    file: 'canvas/id_token.resource-link.json',
    pick: (j) => j.payloads.student_lti_advantage_disabled,
  },
  'canvas-deep-linking': { file: 'canvas/id_token.deep-linking-request.json', pick: (j) => j.payload },
};

/** Fixture JSON is read loosely; shapes are checked where used. */
type Json = any;
const cache = new Map<string, string>();

/** A fresh deep copy of a fixture file, parsed (callers may mutate it). */
export function loadFixture(relativePath: string): Json {
  let text = cache.get(relativePath);
  if (text === undefined) {
    text = fs.readFileSync(path.join(FIXTURES, relativePath), 'utf8');
    cache.set(relativePath, text);
  }
  return JSON.parse(text);
}

export function fixtureFlavour(name: FixtureName): Flavour {
  return name.startsWith('canvas') ? 'canvas' : 'moodle';
}

/** The captured, decoded id_token payload of a fixture, untouched. */
export function capturedPayload(name: FixtureName): Record<string, unknown> {
  const source = SOURCES[name];
  const payload = source.pick(loadFixture(source.file));
  if (!isObject(payload)) throw new Error(`fixture ${name}: no payload in ${source.file}`);
  return payload;
}

/** Set in `nonce` by claims(); launch() replaces it with the nonce of the authentication request. */
export const NONCE_PLACEHOLDER = '<nonce: set at sign time>';

export interface ClaimContext {
  issuer: string;
  clientId: string;
  deploymentId: string;
  targetLinkUri: string;
  lineitemsUrl: string;
  /** URL of the line item bound to a resource link (created on demand by the platform). */
  lineitemUrl: (resourceLink: Record<string, unknown>) => string;
  membershipsUrl: string;
  /** Maps the captured deep_link_return_url onto the platform. */
  deepLinkReturnUrl: (captured: string) => string;
  overrides?: Record<string, unknown>;
  now?: number;
}

/**
 * The captured payload re-addressed to this platform and tool: identity, deployment, target and
 * service URLs are rewritten, times are fresh, and everything else stays as captured. Overrides are
 * a shallow merge applied last; an `undefined` value deletes the claim.
 */
export function buildClaims(name: FixtureName, ctx: ClaimContext): Record<string, unknown> {
  const payload = capturedPayload(name);
  const now = Math.floor((ctx.now ?? Date.now()) / 1000);
  payload.nonce = NONCE_PLACEHOLDER;
  payload.iat = now;
  // Moodle's id_tokens live 60 s, Canvas's an hour.
  payload.exp = now + (fixtureFlavour(name) === 'canvas' ? 3600 : 60);
  payload.iss = ctx.issuer;
  payload.aud = ctx.clientId;
  if ('azp' in payload) payload.azp = ctx.clientId;
  payload[CLAIM.deploymentId] = ctx.deploymentId;
  payload[CLAIM.targetLinkUri] = ctx.targetLinkUri;

  const ags = payload[CLAIM.ags];
  if (isObject(ags) && 'lineitems' in ags) ags.lineitems = ctx.lineitemsUrl;
  const nrps = payload[CLAIM.nrps];
  if (isObject(nrps)) nrps.context_memberships_url = ctx.membershipsUrl;
  const custom = payload[CLAIM.custom];
  // Moodle's NRPS service also injects the memberships URL as a custom parameter.
  if (isObject(custom) && typeof custom.context_memberships_url === 'string') {
    custom.context_memberships_url = ctx.membershipsUrl;
  }
  const settings = payload[CLAIM.deepLinkingSettings];
  if (isObject(settings) && typeof settings.deep_link_return_url === 'string') {
    settings.deep_link_return_url = ctx.deepLinkReturnUrl(settings.deep_link_return_url);
  }

  for (const [claim, value] of Object.entries(ctx.overrides ?? {})) {
    if (value === undefined) delete payload[claim];
    else payload[claim] = value;
  }

  // The line item follows the final resource link, so overriding resource_link gets its own column.
  const finalAgs = payload[CLAIM.ags];
  const resourceLink = payload[CLAIM.resourceLink];
  if (!(ctx.overrides && CLAIM.ags in ctx.overrides) && isObject(finalAgs) && 'lineitem' in finalAgs && isObject(resourceLink)) {
    finalAgs.lineitem = ctx.lineitemUrl(resourceLink);
  }
  return payload;
}

export interface LoginContext {
  issuer: string;
  clientId: string;
  deploymentId: string;
  targetLinkUri: string;
  /** Secret for Canvas's HS256 lti_message_hint (opaque to the tool). */
  hintSecret: Buffer;
  origin: string;
}

/** Third-party login initiation parameters as the fixture's LMS sends them, in captured order. */
export function loginParams(name: FixtureName, payload: Record<string, unknown>, ctx: LoginContext): Record<string, string> {
  if (fixtureFlavour(name) === 'moodle') {
    const captured = loadFixture('moodle-4.5/oidc-login-initiation.json').requests[SOURCES[name].moodleLogin ?? 'student'];
    const hint = { ...captured.lti_message_hint_decoded };
    // Moodle numbers every launch; keep the captured prefix ("ltilaunch1_" / "ltilaunch_ContentItemSelectionRequest").
    hint.launchid = String(hint.launchid).replace(/\d+$/, String(randomInt(1e8, 2e9)));
    return {
      iss: ctx.issuer,
      target_link_uri: ctx.targetLinkUri,
      login_hint: String(payload.sub),
      lti_message_hint: JSON.stringify(hint),
      client_id: ctx.clientId,
      lti_deployment_id: ctx.deploymentId,
    };
  }
  const captured = loadFixture('canvas/oidc-login-auth-launch.json').login_initiation.params;
  // Canvas's login_hint is the LTI 1.1 user id, not the 1.3 sub.
  const legacyId = payload[CLAIM.lti11UserId];
  return {
    iss: ctx.issuer,
    login_hint: typeof legacyId === 'string' ? legacyId : String(payload.sub),
    client_id: ctx.clientId,
    lti_deployment_id: ctx.deploymentId,
    target_link_uri: ctx.targetLinkUri,
    lti_message_hint: canvasMessageHint(ctx),
    canvas_environment: captured.canvas_environment,
    canvas_region: captured.canvas_region,
    lti_storage_target: captured.lti_storage_target,
  };
}

/** Extra fields Canvas's form_post carries next to id_token and state. */
export function launchFormExtras(name: FixtureName): Record<string, string> {
  if (fixtureFlavour(name) === 'moodle') return {};
  const captured = loadFixture('canvas/oidc-login-auth-launch.json').launch_form_post.values_except_id_token;
  return {
    utf8: captured.utf8,
    authenticity_token: randomBytes(64).toString('base64'),
    lti_storage_target: captured.lti_storage_target,
  };
}

function canvasMessageHint(ctx: LoginContext): string {
  return signHs256Sync(
    {
      verifier: randomBytes(64).toString('hex'),
      canvas_domain: new URL(ctx.origin).host,
      context_type: 'Course',
      context_id: 10000000000003,
      canvas_locale: 'en',
      include_storage_target: true,
      exp: Math.floor(Date.now() / 1000) + 300,
    },
    ctx.hintSecret,
  );
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
