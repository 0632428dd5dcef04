import path from 'node:path';
import request from 'supertest';
import { createApp, type ToolApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import type { Rubric } from '../../src/feedback/types';
import { createLogger } from '../../src/logger';
import { addDeployment, registerPlatform } from '../../src/lti/platforms';
import { prepareLtijsTables } from '../../src/lti/ltijs';
import { openRuntime, type Runtime } from '../../src/runtime';
import { CLAIM, TestPlatform, type FixtureName } from '../../test/support/platform';
import { settingsOf } from './databases';
import { REPO_ROOT } from './processes';

// The tool in the benchmark process, on a benchmark database: used to register the test platform,
// launch the cast and create connections, instances and assignments through the real API. The
// measured web and worker processes are separate (see processes.ts), on the same database.

export const BENCH_ENV = {
  NODE_ENV: 'development',
  SECRET_KEY: 'bench-secret-key-5e1f0c9a7b3d2e8f6a4c1b0d9e7f3a2c',
  LTI_KEY: 'bench-lti-key-9a3c5e7f1b2d4e6a8c0f2b4d6e8a0c2e',
  LOG_LEVEL: 'warn',
};

export const RUBRIC: Rubric = [
  { id: 'thesis', name: 'Thesis', description: 'A clear, arguable thesis.', weight: 2, maxScore: 5 },
  { id: 'evidence', name: 'Evidence', description: 'Relevant, cited evidence for each claim.', weight: 2, maxScore: 5 },
  { id: 'style', name: 'Style', description: 'Readable prose with few errors.', weight: 1, maxScore: 10 },
];

export const ESSAY = `Cities should invest in protected bike lanes. ${'Protected lanes reduce injuries, encourage new riders and cost less per trip than new roads. '.repeat(20)}`;

export interface BenchTool {
  runtime: Runtime;
  app: ToolApp;
  platform: TestPlatform;
  deploymentId: string;
  /** Launches a fixture through the in-process app and returns its ltik. */
  ltik(fixture: FixtureName, claims?: Record<string, unknown>): Promise<string>;
  /** An API call as the holder of an ltik (in-process); throws unless 2xx. */
  api(ltik: string, method: 'get' | 'post' | 'put', url: string, body?: object): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export const IN_PROCESS_URL = 'http://localhost:3000';

/** Migrates the database, registers a test platform (JWKS delay as given) and one deployment. */
export async function openBenchTool(databaseUrl: string, opts: { jwksDelayMs?: number; env?: Record<string, string> } = {}): Promise<BenchTool> {
  const env = { ...process.env, ...BENCH_ENV, ...opts.env, DATABASE_URL: databaseUrl, PUBLIC_URL: IN_PROCESS_URL, RUN_WORKER: 'false' };
  const config = loadConfig(env, { dataDir: path.join(REPO_ROOT, '.tmp', 'bench', 'data') });
  const runtime = await openRuntime({ config, logger: createLogger({ level: 'warn' }) });
  await prepareLtijsTables(settingsOf(databaseUrl));
  const app = await createApp(runtime);
  const platform = await TestPlatform.start({ flavour: 'moodle', jwksDelayMs: opts.jwksDelayMs ?? 0 });
  const registration = await registerPlatform(
    app.lti,
    { issuer: platform.issuer, clientId: platform.clientId, name: 'Bench Moodle', authUrl: platform.authUrl, tokenUrl: platform.tokenUrl, jwksUrl: platform.jwksUrl, authorizationServer: platform.authorizationServer, registeredVia: 'cli' },
    { allowLocalUrls: true },
  );
  const deploymentId = 'bench-deployment';
  await addDeployment(registration, deploymentId, 'cli');

  const ltik = async (fixture: FixtureName, claims?: Record<string, unknown>) => {
    const result = await platform.launch(app, { fixture, deploymentId, toolUrl: IN_PROCESS_URL, claims });
    if (!result.ltik) throw new Error(`launch of ${fixture} failed: ${result.status} ${result.body.slice(0, 300)}`);
    return result.ltik;
  };
  const api: BenchTool['api'] = async (token, method, url, body) => {
    const res = await request(app)[method](url).set('Authorization', `Bearer ${token}`).send(body ?? {});
    if (res.status >= 300) throw new Error(`${method.toUpperCase()} ${url} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    return res.body as Record<string, unknown>;
  };
  return {
    runtime,
    app,
    platform,
    deploymentId,
    ltik,
    api,
    close: async () => {
      await platform.close();
      await app.close();
      await runtime.close();
    },
  };
}

/** A student's ltik for resource link `linkId`, with the data-use notice accepted (required before submitting). */
export async function studentLtik(tool: BenchTool, linkId: string, sub: string): Promise<string> {
  const ltik = await tool.ltik('moodle-student', linkClaims(linkId, sub));
  const notice = await tool.api(ltik, 'get', '/api/v1/notice');
  await tool.api(ltik, 'post', '/api/v1/notice/accept', { version: notice.version });
  return ltik;
}

/** Claims for a launch into resource link `linkId` as user `sub`. */
export function linkClaims(linkId: string, sub?: string): Record<string, unknown> {
  return {
    [CLAIM.resourceLink]: { id: linkId, title: `Essay ${linkId}` },
    ...(sub ? { sub, name: `Student ${sub}`, given_name: 'Student', family_name: sub } : {}),
  };
}

/** Creates a system provider connection and one instance per model name on it; returns the instance ids. */
export async function connectionWithInstances(tool: BenchTool, admin: string, label: string, apiKey: string, baseUrl: string, count: number): Promise<string[]> {
  const provider = await tool.api(admin, 'post', '/api/v1/providers', { kind: 'openai_compatible', label, apiKey, baseUrl, scope: 'system' });
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const instance = await tool.api(admin, 'post', '/api/v1/instances', { name: `${label} model ${i + 1}`, providerId: provider.id, model: 'mock-feedback-1', scope: 'system' });
    ids.push(instance.id as string);
  }
  return ids;
}

/** An instructor creates the assignment of resource link `linkId` with these instances × runs. */
export async function createAssignment(tool: BenchTool, linkId: string, instanceIds: string[], runs: number, maxDrafts = 3): Promise<string> {
  const teacher = await tool.ltik('moodle-teacher', linkClaims(linkId));
  const assignment = await tool.api(teacher, 'post', '/api/v1/assignments', {
    title: `Essay ${linkId}`,
    instructions: 'Argue for one change to your city. 500 words.',
    rubric: RUBRIC,
    models: instanceIds.map((instanceId) => ({ instanceId, runs, weight: 1 })),
    maxDrafts,
    releaseMode: 'review',
  });
  return assignment.id as string;
}

/** Runs `work(i)` for i in 0..n-1 with at most `concurrency` at once. */
export async function pool(n: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(n, concurrency) }, async () => {
    while (next < n) {
      const i = next;
      next += 1;
      await work(i);
    }
  });
  await Promise.all(lanes);
}
