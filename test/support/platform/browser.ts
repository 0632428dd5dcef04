import type { Express } from 'express';
import request from 'supertest';
import type { CookieJar } from './cookies';

/** Where the tool runs: an in-process app (driven by supertest) or the base URL of a listening server. */
export type ToolTarget = Express | string;

/** One response, the same shape whether it came from supertest or fetch. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[]>;
  text: string;
}

export interface BrowserRequest {
  method: 'GET' | 'POST';
  /** The URL as the browser sees it (built on the tool's PUBLIC_URL); cookies are matched against it. */
  url: string;
  form?: Record<string, string>;
  /** Receives the response's Set-Cookie headers. */
  jar: CookieJar;
  /** The Cookie header to send (see crossSiteCookies); empty sends none. */
  cookie: string;
  /** Page the request comes from (the LMS), sent as Origin on POSTs like a browser form submit. */
  fromOrigin?: string;
}

/** The cookies a browser attaches when a page on `fromOrigin` submits a form to `url`. */
export function cookiesFor(jar: CookieJar, url: string, fromOrigin: string): string {
  return jar.header(url, { crossSite: new URL(fromOrigin).host !== new URL(url).host });
}

/**
 * Performs one browser navigation without following redirects, e.g. a form submit from the LMS page
 * to the tool, and stores the cookies it sets.
 */
export async function browserRequest(target: ToolTarget, req: BrowserRequest): Promise<HttpResponse> {
  const url = new URL(req.url);
  const body = req.form ? new URLSearchParams(req.form).toString() : undefined;
  if (req.method === 'GET' && body) url.search = body;
  const headers: Record<string, string> = {};
  if (req.cookie) headers.cookie = req.cookie;
  if (req.method === 'POST') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    if (req.fromOrigin) headers.origin = req.fromOrigin;
  }

  const response = typeof target === 'string'
    ? await viaFetch(new URL(url.pathname + url.search, target).href, req.method, headers, req.method === 'POST' ? body : undefined)
    : await viaSupertest(target, url.pathname + url.search, req.method, headers, req.method === 'POST' ? body : undefined);
  req.jar.store(response.headers['set-cookie'], url.href);
  return response;
}

async function viaSupertest(
  app: Express,
  pathAndQuery: string,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body: string | undefined,
): Promise<HttpResponse> {
  let pending = method === 'GET' ? request(app).get(pathAndQuery) : request(app).post(pathAndQuery);
  for (const [name, value] of Object.entries(headers)) pending = pending.set(name, value);
  const res = body === undefined ? await pending : await pending.send(body);
  const normalised: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(res.headers as Record<string, unknown>)) {
    if (typeof value === 'string' || Array.isArray(value)) normalised[name.toLowerCase()] = value as string | string[];
  }
  const setCookie = normalised['set-cookie'];
  if (typeof setCookie === 'string') normalised['set-cookie'] = [setCookie];
  return { status: res.status, headers: normalised, text: res.text ?? '' };
}

async function viaFetch(
  url: string,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body: string | undefined,
): Promise<HttpResponse> {
  const res = await fetch(url, { method, headers, body, redirect: 'manual' });
  const normalised: Record<string, string | string[]> = {};
  res.headers.forEach((value, name) => {
    if (name !== 'set-cookie') normalised[name] = value;
  });
  const setCookie = res.headers.getSetCookie();
  if (setCookie.length > 0) normalised['set-cookie'] = setCookie;
  return { status: res.status, headers: normalised, text: await res.text() };
}

/** A header as one string (the first value if repeated). */
export function headerValue(res: HttpResponse, name: string): string | undefined {
  const value = res.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
