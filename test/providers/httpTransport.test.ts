import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { providerFetch } from '../../src/providers/httpTransport';
import { providerKindSpec } from '../../src/providers/registry';

// The fetch the provider SDKs use (src/providers/httpTransport.ts), against a real local server:
// what fetch does that the SDKs rely on (status, headers, body, decoding, abort), what it does not
// do on purpose (follow redirects), and the keep-alive that makes it cheap.

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

let server: http.Server;
let origin: string;
let handler: Handler;
const connections: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', (socket) => connections.push(`${socket.remotePort}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  connections.length = 0;
});

test('sends the method, headers and body, and returns status, headers and body; calls share one connection', async () => {
  const seen: Array<{ method?: string; auth?: string; type?: string; body: string }> = [];
  handler = (req, res, body) => {
    seen.push({ method: req.method, auth: req.headers.authorization, type: req.headers['content-type'], body });
    res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'req-1' });
    res.end(JSON.stringify({ ok: true, echo: JSON.parse(body) as unknown }));
  };
  for (let i = 0; i < 3; i += 1) {
    const res = await providerFetch(`${origin}/v1/chat/completions`, {
      method: 'POST',
      headers: new Headers({ authorization: 'Bearer k', 'content-type': 'application/json' }),
      body: JSON.stringify({ n: i, text: 'Résumé 📚' }),
    });
    expect(res.status).toBe(201);
    expect(res.ok).toBe(true);
    expect(res.headers.get('x-request-id')).toBe('req-1');
    expect(await res.json()).toEqual({ ok: true, echo: { n: i, text: 'Résumé 📚' } });
  }
  expect(seen).toEqual([0, 1, 2].map((n) => ({ method: 'POST', auth: 'Bearer k', type: 'application/json', body: JSON.stringify({ n, text: 'Résumé 📚' }) })));
  expect(connections).toHaveLength(1); // keep-alive
});

test.each([
  ['gzip', zlib.gzipSync],
  ['deflate', zlib.deflateSync],
  ['br', zlib.brotliCompressSync],
])('a %s response is decoded, and no longer says it is encoded', async (encoding, compress) => {
  const payload = JSON.stringify({ text: 'x'.repeat(5000) });
  let asked: string | undefined;
  handler = (req, res) => {
    asked = req.headers['accept-encoding'];
    const body = compress(Buffer.from(payload));
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding, 'content-length': String(body.length) });
    res.end(body);
  };
  const res = await providerFetch(`${origin}/v1/models`);
  expect(asked).toMatch(new RegExp(encoding));
  expect(res.headers.get('content-encoding')).toBeNull();
  expect(res.headers.get('content-length')).toBeNull();
  expect(await res.text()).toBe(payload);
});

test('a redirect is returned as it is, never followed (the key would go with it)', async () => {
  const paths: string[] = [];
  handler = (req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data' });
    res.end();
  };
  const res = await providerFetch(`${origin}/v1/chat/completions`, { method: 'POST', body: '{}' });
  expect(res.status).toBe(307);
  expect(paths).toEqual(['/v1/chat/completions']);
});

test('a 204 has no body', async () => {
  handler = (_req, res) => {
    res.writeHead(204);
    res.end();
  };
  const res = await providerFetch(`${origin}/v1/nothing`);
  expect(res.status).toBe(204);
  expect(res.body).toBeNull();
});

test('an abort rejects the call and closes its connection; an aborted signal sends nothing', async () => {
  let closed!: () => void;
  const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
  let requests = 0;
  handler = (req) => {
    requests += 1;
    req.socket.on('close', closed); // never answers
  };
  const controller = new AbortController();
  const call = providerFetch(`${origin}/v1/slow`, { method: 'POST', body: '{}', signal: controller.signal });
  await new Promise((resolve) => setTimeout(resolve, 50));
  controller.abort();
  await expect(call).rejects.toMatchObject({ name: 'AbortError' });
  await connectionClosed;

  await expect(providerFetch(`${origin}/v1/slow`, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  expect(requests).toBe(1);
});

test('a connection cut in the middle of the body rejects (never a truncated body)', async () => {
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
    res.write('{"partial": ');
    setTimeout(() => res.socket?.destroy(), 20);
  };
  await expect(providerFetch(`${origin}/v1/cut`)).rejects.toThrow();
});

test('a refused connection rejects', async () => {
  const closedServer = http.createServer();
  await new Promise<void>((resolve) => closedServer.listen(0, '127.0.0.1', resolve));
  const port = (closedServer.address() as AddressInfo).port;
  await new Promise((resolve) => closedServer.close(resolve));
  await expect(providerFetch(`http://127.0.0.1:${port}/v1/models`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
});

test.each(['openai', 'anthropic', 'huggingface', 'openai_compatible'] as const)('the %s adapter calls through it, never through the global fetch', async (kind) => {
  const seen: string[] = [];
  handler = (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data: [{ id: 'model-a', object: 'model', type: 'model', created: 0, created_at: '2026-01-01T00:00:00Z', display_name: 'A', owned_by: 'x' }], has_more: false, first_id: 'model-a', last_id: 'model-a' }));
  };
  const globalFetch = jest.spyOn(globalThis, 'fetch');
  try {
    const adapter = providerKindSpec(kind).createAdapter({ kind, apiKey: 'test-key', baseUrl: kind === 'anthropic' ? origin : `${origin}/v1` });
    expect(await adapter.verify()).toEqual({ models: ['model-a'] });
    expect(seen).toEqual([`GET /v1/models${kind === 'anthropic' ? '?limit=1000' : ''}`]);
    expect(globalFetch).not.toHaveBeenCalled();
  } finally {
    globalFetch.mockRestore();
  }
});
