import type { Express } from 'express';

// The app's real routes, read from Express 4's router stack, so a test can insist that every route
// has a row in a table (the authorization matrix). Nothing here is exported by Express as an API:
// it reads `app._router.stack` and each layer's `route`, `handle`, `regexp` and `keys`, which are
// stable throughout Express 4 (path-to-regexp 0.1.x).

export interface RouteEntry {
  /** Upper-case HTTP method; `ALL` for `router.all()`. */
  method: string;
  /** The full path with Express parameters, e.g. `/api/v1/providers/:id`. */
  path: string;
}

export interface ListRoutesOptions {
  /**
   * Express sub-applications are not walked (ltijs's app has internal routes we neither define nor
   * want in the table); each is listed as the entries given here for its mount path. A sub-app not
   * named here is listed as `ALL <mount>/*` so that it still needs a row.
   */
  subApps?: Record<string, RouteEntry[]>;
}

/** ltijs's app is mounted inside /lti behind our own routes; the one thing we rely on it for is the tool JWKS. */
export const DEFAULT_SUB_APPS: Record<string, RouteEntry[]> = {
  '/lti': [{ method: 'GET', path: '/lti/keys' }],
};

interface Layer {
  name: string;
  regexp: RegExp & { fast_slash?: boolean; fast_star?: boolean };
  keys: Array<{ name: string | number; optional: boolean }>;
  route?: { path: string | RegExp | Array<string | RegExp>; methods: Record<string, boolean> };
  handle: ((...args: unknown[]) => unknown) & { stack?: Layer[]; _router?: unknown; set?: unknown; handle?: unknown };
}

/**
 * Turns the regexp Express 4 builds for a mount path back into that path:
 *
 *   /^\/?(?=\/|$)/i                           → ''            (mounted at '/', `fast_slash`)
 *   /^\/api\/v1\/?(?=\/|$)/i                  → '/api/v1'
 *   /^\/a(?:\/([^/]+?))\/b\/?(?=\/|$)/i       → '/a/:id/b'    (names from `keys`, in order)
 *   /^\/opt(?:\/([^/]+?))?\/?(?=\/|$)/i       → '/opt/:id?'
 *   /^\/star\/(.*)\/?(?=\/|$)/i               → '/star/*'
 *
 * Anything else (a RegExp mount path, an unknown construct) throws, naming the regexp, rather than
 * producing a path that silently matches no table row.
 */
export function mountPathOf(regexp: RegExp & { fast_slash?: boolean }, keys: Array<{ name: string | number; optional?: boolean }> = []): string {
  if (regexp.fast_slash) return '';
  const source = regexp.source;
  // Every mount regexp is `^<path>\/?(?=\/|$)`: the prefix, an optional trailing slash, then a
  // lookahead for the next segment or the end.
  const body = /^\^(.*)\\\/\?\(\?=\\\/\|\$\)$/.exec(source)?.[1];
  if (body === undefined) throw new Error(`listRoutes: cannot read the mount path of ${String(regexp)}`);
  const names = [...keys];
  const param = () => {
    const key = names.shift();
    if (!key) throw new Error(`listRoutes: ${String(regexp)} has more capture groups than keys`);
    return key;
  };
  const path = body
    // A named parameter: (?:\/([^/]+?)) and, when optional, the same group followed by `?`.
    .replace(/\(\?:\\\/\(\[\^\/\]\+\?\)\)(\?)?/g, (_m, optional: string | undefined) => `/:${String(param().name)}${optional ? '?' : ''}`)
    // A star: (.*), which path-to-regexp keys by position.
    .replace(/\(\.\*\)/g, () => {
      param();
      return '*';
    })
    // What remains is literal text with regexp escapes (\/, \., \-).
    .replace(/\\(.)/g, '$1');
  if (/[()[\]?+^$|{}]/.test(path.replace(/\/:[A-Za-z0-9_]+\??/g, '').replace(/\*/g, ''))) {
    throw new Error(`listRoutes: cannot read the mount path of ${String(regexp)} (got ${path})`);
  }
  if (names.length) throw new Error(`listRoutes: ${String(regexp)} has unused keys ${names.map((k) => k.name).join(', ')}`);
  return path;
}

/** `prefix` + `path` with exactly one slash between them and none at the end (except for `/`). */
function join(prefix: string, path: string): string {
  const joined = `${prefix}/${path}`.replace(/\/+/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
}

const isSubApp = (layer: Layer) => layer.name === 'mounted_app' || (typeof layer.handle.set === 'function' && typeof layer.handle.handle === 'function' && !!layer.handle._router);

/** Every route of the app, in registration order, de-duplicated (`METHOD path` once). */
export function listRoutes(app: Express, opts: ListRoutesOptions = {}): RouteEntry[] {
  const subApps = opts.subApps ?? DEFAULT_SUB_APPS;
  const out: RouteEntry[] = [];
  const seen = new Set<string>();
  const add = (method: string, path: string) => {
    const key = `${method} ${path}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ method, path });
  };

  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) {
          if (typeof p !== 'string') throw new Error(`listRoutes: a RegExp route path (${String(p)}) under ${prefix || '/'} cannot be listed`);
          const full = join(prefix, p);
          // router.all() marks the route `_all`; the verbs it also lists are the same handler.
          const methods = layer.route.methods._all ? ['ALL'] : Object.keys(layer.route.methods).filter((m) => layer.route!.methods[m]).map((m) => m.toUpperCase());
          for (const m of methods) add(m, full);
        }
        continue;
      }
      const mount = join(prefix, mountPathOf(layer.regexp, layer.keys));
      if (Array.isArray(layer.handle.stack)) {
        walk(layer.handle.stack, mount === '/' ? '' : mount);
      } else if (isSubApp(layer)) {
        for (const entry of subApps[mount] ?? [{ method: 'ALL', path: join(mount, '*') }]) add(entry.method, entry.path);
      } else if (layer.name === 'serveStatic') {
        add('GET', join(mount, '*'));
      }
      // Anything else is middleware (parsers, the session, guards, the 404 and error handlers).
    }
  };

  const router = (app as unknown as { _router?: { stack: Layer[] } })._router;
  if (!router) throw new Error('listRoutes: the app has no router yet (add a route first)');
  walk(router.stack, '');
  return out;
}

/** `GET /api/v1/me`: the form the matrix table is keyed by. */
export const routeKey = (r: RouteEntry) => `${r.method} ${r.path}`;
