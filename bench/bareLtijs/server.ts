import { Provider as lti } from 'ltijs';
import Database from 'ltijs-sequelize';

// The comparison for the launch benchmark: a bare ltijs 5.9 tool (ltijs-sequelize on the same kind of
// database, a trivial onConnect), as its README shows it. Only for benchmarks; never part of the tool.
// Env: BARE_PORT, BARE_DATABASE_URL (sqlite:<file> or postgres://…), BARE_KEY, BARE_PLATFORM (JSON).

async function main(): Promise<void> {
  const url = process.env.BARE_DATABASE_URL!;
  const options = { logging: false };
  const db = url.startsWith('sqlite:')
    ? new Database('ltijs', null, null, { ...options, dialect: 'sqlite', storage: url.slice('sqlite:'.length) })
    : (() => {
        const u = new URL(url);
        return new Database(u.pathname.slice(1), decodeURIComponent(u.username) || null, decodeURIComponent(u.password) || null, { ...options, dialect: 'postgres', host: u.hostname, port: Number(u.port || 5432) });
      })();
  lti.setup(process.env.BARE_KEY!, { plugin: db }, {
    appRoute: '/lti/launch',
    loginRoute: '/lti/login',
    keysetRoute: '/lti/keys',
    cookies: { secure: true, sameSite: 'None' },
    devMode: false,
  });
  lti.onConnect((_token: unknown, _req: unknown, res: { send(body: string): void }) => {
    res.send('<!doctype html><title>Bare ltijs</title><p>Hello from a bare ltijs tool.</p>');
  });
  const info = console.info;
  console.info = () => undefined; // ltijs-sequelize announces its migrations
  // ltijs's typings omit `port`, which its deploy() reads.
  await lti.deploy({ port: Number(process.env.BARE_PORT), silent: true } as Parameters<typeof lti.deploy>[0]);
  console.info = info;
  const platform = JSON.parse(process.env.BARE_PLATFORM!) as { issuer: string; clientId: string; authUrl: string; tokenUrl: string; jwksUrl: string };
  await lti.registerPlatform({
    url: platform.issuer,
    name: 'Bench platform',
    clientId: platform.clientId,
    authenticationEndpoint: platform.authUrl,
    accesstokenEndpoint: platform.tokenUrl,
    authConfig: { method: 'JWK_SET', key: platform.jwksUrl },
  });
  process.stdout.write('bare-ltijs ready\n');
  process.once('SIGTERM', () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`bare ltijs failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
