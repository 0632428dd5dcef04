import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { createTestContext, TestContext } from '../support/context';
import { FIXTURES } from '../support/paths';
import { SCOPES } from '../support/platform';

// The Canvas "Enter URL" developer-key configuration: lti-config.json with the public URL filled in.

const PUBLIC_URL = 'https://ff.example.edu';

interface Placement {
  placement: string;
  message_type: string;
  target_link_uri: string;
  [field: string]: unknown;
}
interface CanvasConfig {
  title: string;
  description: string;
  oidc_initiation_url: string;
  target_link_uri: string;
  public_jwk_url?: string;
  public_jwk?: unknown;
  scopes: string[];
  extensions: Array<{ domain: string; platform: string; privacy_level: string; settings: { placements: Placement[] } & Record<string, unknown> }>;
  [field: string]: unknown;
}

const documented = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'canvas/developer-key-json-config.json'), 'utf8')) as {
  example: Record<string, unknown>;
  fields: Array<{ name: string; level: string; required: boolean | string; allowed?: string[] }>;
};

/** Every string value in a JSON document, with its path. */
function strings(value: unknown, at = '$'): Array<[string, string]> {
  if (typeof value === 'string') return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${at}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => strings(v, `${at}.${k}`));
  return [];
}

describe('GET /lti/config.json (Canvas developer key JSON)', () => {
  let ctx: TestContext;
  let res: request.Response;
  let config: CanvasConfig;

  beforeAll(async () => {
    ctx = await createTestContext({ PUBLIC_URL });
    res = await request(ctx.app).get('/lti/config.json');
    config = res.body as CanvasConfig;
  });
  afterAll(() => ctx.close());

  test('answers JSON that is not cached', () => {
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  test('has every root field the Canvas documentation requires, with the documented types', () => {
    const requiredAtRoot = documented.fields.filter((f) => f.required === true && f.level.startsWith('root')).map((f) => f.name);
    expect(requiredAtRoot).toEqual(expect.arrayContaining(['title', 'description', 'oidc_initiation_url', 'target_link_uri']));
    for (const name of requiredAtRoot) {
      expect(typeof config[name]).toBe('string');
      expect(String(config[name]).length).toBeGreaterThan(0);
    }
    // public_jwk or public_jwk_url: we publish the URL so key rotation needs no Canvas change.
    expect(config.public_jwk).toBeUndefined();
    expect(typeof config.public_jwk_url).toBe('string');
    expect(Array.isArray(config.scopes)).toBe(true);
    expect(Array.isArray(config.extensions)).toBe(true);
    // Only fields the documentation knows about (at the root).
    const rootFields = new Set(documented.fields.filter((f) => f.level.startsWith('root')).map((f) => f.name));
    for (const key of Object.keys(config)) expect(rootFields).toContain(key);
  });

  test('every scope is one Canvas allows, including the four AGS scopes and NRPS', () => {
    const allowed = documented.fields.find((f) => f.name === 'scopes')!.allowed!;
    for (const scope of config.scopes) expect(allowed).toContain(scope);
    expect(config.scopes).toEqual(expect.arrayContaining([SCOPES.lineitem, SCOPES.lineitemReadonly, SCOPES.resultReadonly, SCOPES.score, SCOPES.nrps]));
    expect(new Set(config.scopes).size).toBe(config.scopes.length);
  });

  test('the extension is for canvas.instructure.com, on our host, with a documented privacy level', () => {
    expect(config.extensions).toHaveLength(1);
    const extension = config.extensions[0]!;
    expect(extension.platform).toBe('canvas.instructure.com');
    expect(extension.domain).toBe('ff.example.edu');
    const privacy = documented.fields.find((f) => f.name === 'privacy_level')!.allowed!;
    expect(privacy).toContain(extension.privacy_level);
    expect(extension.privacy_level).toBe('public');
  });

  test('placements: course navigation launches, assignment and link selection deep-link', () => {
    const placements = config.extensions[0]!.settings.placements;
    for (const p of placements) {
      expect(typeof p.placement).toBe('string');
      expect(['LtiResourceLinkRequest', 'LtiDeepLinkingRequest']).toContain(p.message_type);
      expect(p.target_link_uri).toBe(`${PUBLIC_URL}/lti/launch`);
    }
    const byName = Object.fromEntries(placements.map((p) => [p.placement, p.message_type]));
    expect(byName).toMatchObject({
      course_navigation: 'LtiResourceLinkRequest',
      assignment_selection: 'LtiDeepLinkingRequest',
      link_selection: 'LtiDeepLinkingRequest',
    });
    expect(placements.map((p) => p.placement).sort()).toEqual([...new Set(placements.map((p) => p.placement))].sort());
  });

  test('every URL is on the configured PUBLIC_URL, and no placeholder is left', () => {
    expect(config.oidc_initiation_url).toBe(`${PUBLIC_URL}/lti/login`);
    expect(config.target_link_uri).toBe(`${PUBLIC_URL}/lti/launch`);
    expect(config.public_jwk_url).toBe(`${PUBLIC_URL}/lti/keys`);
    const values = strings(config);
    const urls = values.filter(([, v]) => /^[a-z][a-z0-9+.-]*:\/\//i.test(v));
    expect(urls.length).toBeGreaterThanOrEqual(6);
    for (const [at, url] of urls) {
      if (at.startsWith('$.scopes')) continue; // scope names are URIs, not addresses
      expect(`${at} ${url}`).toBe(`${at} ${PUBLIC_URL}${new URL(url).pathname}`);
    }
    expect(res.text).not.toContain('$PUBLIC_URL');
    expect(res.text).not.toContain('localhost');
  });

  test('the public JWK URL serves the tool keys', async () => {
    const keys = await request(ctx.app).get(new URL(config.public_jwk_url!).pathname);
    expect(keys.status).toBe(200);
    expect(Array.isArray(keys.body.keys)).toBe(true);
  });
});

describe('GET /lti/config.json with another PUBLIC_URL', () => {
  test('follows the configuration of the running app (no value cached from another one)', async () => {
    const ctx = await createTestContext({ PUBLIC_URL: 'https://feedback.other.example.org/' });
    try {
      const res = await request(ctx.app).get('/lti/config.json');
      expect(res.body.oidc_initiation_url).toBe('https://feedback.other.example.org/lti/login');
      expect(res.body.extensions[0].domain).toBe('feedback.other.example.org');
      expect(res.text).not.toContain('ff.example.edu');
    } finally {
      await ctx.close();
    }
  });
});
