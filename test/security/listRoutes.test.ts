import express from 'express';
import { listRoutes, mountPathOf, routeKey } from '../support/routes';

// The route lister the authorization matrix relies on: Express 4 mount regexps back to paths, and
// a walk that joins prefixes, de-duplicates, and does not descend into sub-apps.

describe('mountPathOf', () => {
  /** The layer Express 4 builds for `app.use(path, router)`. */
  const layerOf = (path: string) => {
    const app = express();
    app.use(path, express.Router());
    const stack = (app._router as { stack: Array<{ regexp: RegExp; keys: Array<{ name: string | number; optional: boolean }> }> }).stack;
    return stack[stack.length - 1]!;
  };

  test.each([
    ['/', ''],
    ['/api/v1', '/api/v1'],
    ['/lti', '/lti'],
    ['/config.json', '/config.json'],
    ['/a/:id/b', '/a/:id/b'],
    ['/opt/:id?', '/opt/:id?'],
    ['/star/*', '/star/*'],
    ['/deep-link', '/deep-link'],
  ])('%s round-trips to %p', (path, expected) => {
    const layer = layerOf(path);
    expect(mountPathOf(layer.regexp, layer.keys)).toBe(expected);
  });

  test('reads the canonical example', () => {
    expect(mountPathOf(/^\/api\/v1\/?(?=\/|$)/i)).toBe('/api/v1');
  });

  test('refuses what it cannot read instead of guessing', () => {
    expect(() => mountPathOf(/^\/a|b\/?(?=\/|$)/i)).toThrow(/cannot read/);
    expect(() => mountPathOf(/^foo$/)).toThrow(/cannot read/);
  });
});

describe('listRoutes', () => {
  test('joins prefixes, keeps methods, de-duplicates, lists static and sub-apps opaquely', () => {
    const app = express();
    app.use('/static', express.static(__dirname));
    const api = express.Router();
    const nested = express.Router();
    nested.get('/', (_req, res) => res.end());
    nested.route('/:id').get((_req, res) => res.end()).patch((_req, res) => res.end());
    api.use('/things', nested);
    api.use('/things', nested); // mounted twice: listed once
    api.all('/any', (_req, res) => res.end());
    app.use('/api/v1', api);
    const sub = express();
    sub.get('/internal', (_req, res) => res.end());
    const lti = express.Router();
    lti.post('/launch', (_req, res) => res.end());
    lti.use(sub);
    app.use('/lti', lti);
    app.use('/other', express());
    app.get('/', (_req, res) => res.end());

    expect(listRoutes(app, { subApps: { '/lti': [{ method: 'GET', path: '/lti/keys' }] } }).map(routeKey)).toEqual([
      'GET /static/*',
      'GET /api/v1/things',
      'GET /api/v1/things/:id',
      'PATCH /api/v1/things/:id',
      'ALL /api/v1/any',
      'POST /lti/launch',
      'GET /lti/keys',
      'ALL /other/*',
      'GET /',
    ]);
  });
});
