/**
 * A tiny browser-like cookie jar (RFC 6265 storage model, Chrome's SameSite rules), enough to carry
 * the tool's state cookies through an OIDC round trip the way a real browser would.
 */
export type SameSite = 'none' | 'lax' | 'strict';

export interface StoredCookie {
  name: string;
  value: string;
  /** Host the cookie belongs to: the request host (host-only) or its Domain attribute. */
  domain: string;
  hostOnly: boolean;
  path: string;
  /** Epoch ms; undefined = session cookie. */
  expiresAt?: number;
  secure: boolean;
  httpOnly: boolean;
  /** undefined = no attribute, which Chrome treats as Lax. */
  sameSite?: SameSite;
}

export interface CookieJarOptions {
  /**
   * Apply Chrome's SameSite rules (default true): cross-site requests (the LMS posting to the tool)
   * only carry `SameSite=None` cookies, and `SameSite=None` without `Secure` is refused.
   */
  enforceSameSite?: boolean;
  /** Clock for expiry, so tests can move time forward. */
  now?: () => number;
}

export class CookieJar {
  private cookies: StoredCookie[] = [];
  private readonly enforceSameSite: boolean;
  private readonly now: () => number;

  constructor(opts: CookieJarOptions = {}) {
    this.enforceSameSite = opts.enforceSameSite ?? true;
    this.now = opts.now ?? Date.now;
  }

  /** Stores every Set-Cookie of a response received from `url`; expired ones delete their match. */
  store(setCookie: string | string[] | undefined, url: string): void {
    if (setCookie === undefined) return;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) this.storeOne(line, new URL(url));
  }

  /** The Cookie header a browser would send to `url` (secure cookies are sent on http too, as for localhost). */
  header(url: string, opts: { crossSite?: boolean } = {}): string {
    const target = new URL(url);
    return this.live()
      .filter((c) => domainMatches(target.hostname, c) && pathMatches(target.pathname, c.path))
      .filter((c) => !(opts.crossSite && this.enforceSameSite) || c.sameSite === 'none')
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  get(name: string): StoredCookie | undefined {
    return this.live().find((c) => c.name === name);
  }

  all(): StoredCookie[] {
    return this.live().map((c) => ({ ...c }));
  }

  clear(): void {
    this.cookies = [];
  }

  private live(): StoredCookie[] {
    const now = this.now();
    this.cookies = this.cookies.filter((c) => c.expiresAt === undefined || c.expiresAt > now);
    return this.cookies;
  }

  private storeOne(line: string, url: URL): void {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq < 1) return; // browsers ignore nameless cookies
    const cookie: StoredCookie = {
      name: pair.slice(0, eq).trim(),
      value: pair.slice(eq + 1).trim(),
      domain: url.hostname,
      hostOnly: true,
      path: defaultPath(url.pathname),
      secure: false,
      httpOnly: false,
    };
    let maxAge: number | undefined;
    let expires: number | undefined;
    for (const attribute of attributes) {
      const [rawKey = '', ...rest] = attribute.split('=');
      const key = rawKey.trim().toLowerCase();
      const value = rest.join('=').trim();
      if (key === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value);
      else if (key === 'expires' && !Number.isNaN(Date.parse(value))) expires = Date.parse(value);
      else if (key === 'path' && value.startsWith('/')) cookie.path = value;
      else if (key === 'domain' && value) {
        const domain = value.replace(/^\./, '').toLowerCase();
        if (!hostMatchesDomain(url.hostname, domain)) return; // a site cannot set cookies for another
        cookie.domain = domain;
        cookie.hostOnly = false;
      } else if (key === 'secure') cookie.secure = true;
      else if (key === 'httponly') cookie.httpOnly = true;
      else if (key === 'samesite') cookie.sameSite = parseSameSite(value);
    }
    // Max-Age wins over Expires (RFC 6265 5.3 step 3).
    if (maxAge !== undefined) cookie.expiresAt = maxAge <= 0 ? 0 : this.now() + maxAge * 1000;
    else if (expires !== undefined) cookie.expiresAt = expires;
    if (this.enforceSameSite && cookie.sameSite === 'none' && !cookie.secure) return;

    this.cookies = this.cookies.filter(
      (c) => !(c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path),
    );
    if (cookie.expiresAt === undefined || cookie.expiresAt > this.now()) this.cookies.push(cookie);
  }
}

function parseSameSite(value: string): SameSite | undefined {
  const lower = value.toLowerCase();
  return lower === 'none' || lower === 'lax' || lower === 'strict' ? lower : 'lax';
}

function defaultPath(pathname: string): string {
  const slash = pathname.lastIndexOf('/');
  return slash <= 0 ? '/' : pathname.slice(0, slash);
}

function hostMatchesDomain(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}

function domainMatches(host: string, cookie: StoredCookie): boolean {
  return cookie.hostOnly ? host === cookie.domain : hostMatchesDomain(host, cookie.domain);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}
