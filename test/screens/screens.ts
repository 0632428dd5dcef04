import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ModelInstance, Provider } from '../../src/models';
import type { LtiHarness } from '../support/lti';

// Driving the configuration screens as a browser would: GET pages with the ltik in the query, POST
// forms with the ltik in the body. Nothing here reads HTML structure beyond what a user sees.

export interface Actor {
  ltik: string;
  sub: string;
}

/** A launch of this fixture as a fresh (or the given) user; throws when no ltik came back. */
export async function launchAs(h: LtiHarness, fixture: 'moodle-admin' | 'moodle-teacher' | 'moodle-student', sub = `${fixture}-${randomUUID().slice(0, 8)}`): Promise<Actor> {
  const result = await h.launch(fixture, { claims: { sub } });
  if (!result.ltik) throw new Error(`launch of ${fixture} gave no ltik (status ${result.status})`);
  return { ltik: result.ltik, sub };
}

export function getPage(h: LtiHarness, path: string, actor: Actor) {
  return request(h.ctx.app).get(path).query({ ltik: actor.ltik });
}

export function postForm(h: LtiHarness, path: string, actor: Actor, body: Record<string, string> = {}) {
  return request(h.ctx.app).post(path).type('form').send({ ltik: actor.ltik, ...body });
}

/** A well-formed OpenAI key, different every time (a canary: it must never come back). */
export const openAiKey = () => `sk-canary${randomUUID().replace(/-/g, '')}`;

export const uniqueLabel = (prefix: string) => `${prefix} ${randomUUID().slice(0, 6)}`;

/** The row a form created, found by its unique label. */
export async function connectionNamed(label: string): Promise<Provider> {
  const provider = await Provider.findOne({ where: { label } });
  if (!provider) throw new Error(`no connection labelled ${label}`);
  return provider;
}

export async function instanceNamed(name: string): Promise<ModelInstance> {
  const instance = await ModelInstance.findOne({ where: { name } });
  if (!instance) throw new Error(`no instance named ${name}`);
  return instance;
}

/** Adds a connection through the admin or instructor form and returns its row. */
export async function addConnection(h: LtiHarness, base: '/admin' | '/instructor', actor: Actor, fields: Record<string, string> = {}): Promise<{ provider: Provider; apiKey: string; label: string }> {
  const apiKey = fields.apiKey ?? openAiKey();
  const label = fields.label ?? uniqueLabel('Connection');
  const res = await postForm(h, `${base}/connections`, actor, { kind: 'openai', scope: 'system', ...fields, label, apiKey });
  if (res.status !== 303) throw new Error(`adding a connection answered ${res.status}: ${res.text.slice(0, 500)}`);
  return { provider: await connectionNamed(label), apiKey, label };
}

/** The visible text of an HTML page, tags removed and whitespace collapsed (entities kept). */
export function textOf(html: string): string {
  return html.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ');
}

/** The opening tag of the input named `name`. */
export function inputTag(html: string, name: string): string {
  const match = new RegExp(`<input[^>]*name="${name}"[^>]*>`).exec(html);
  if (!match) throw new Error(`no input named ${name}`);
  return match[0];
}

/** Follows a 303 as the browser would (the ltik is in the Location) and returns the page. */
export async function follow(h: LtiHarness, location: string | undefined): Promise<string> {
  if (!location) throw new Error("no Location header");
  const res = await request(h.ctx.app).get(location);
  if (res.status !== 200) throw new Error(`${location} answered ${res.status}`);
  return res.text;
}

/** The table row (<tr>…</tr>) that mentions `text`. */
export function rowContaining(html: string, text: string): string {
  const row = html.split(/<tr[\s>]/).slice(1).find((part) => part.split('</tr>')[0]!.includes(text));
  if (!row) throw new Error(`no row mentions ${text}`);
  return row.split('</tr>')[0]!;
}
