import path from 'node:path';
import { z } from 'zod';
import { KeyMaterial } from './secrets/keyMaterial';
import { loadOrCreateDevKey } from './secrets/devKeys';
import { secretStrengthProblem } from './secrets/keyMaterial';
import { readSecretEnv } from './secrets/env';

// The one place that reads the environment. Every problem is reported at once, with how to fix it.

export const DEFAULT_DATA_DIR = path.resolve(process.cwd(), 'data');

export type DatabaseSettings =
  | { dialect: 'sqlite'; storage: string; url: string }
  | { dialect: 'postgres'; url: string; host: string; port: number; database: string };

export interface Config {
  port: number;
  publicUrl: string;
  nodeEnv: 'development' | 'test' | 'production';
  isProduction: boolean;
  logLevel: string;
  database: DatabaseSettings;
  dataDir: string;
  /** SECRET_KEY and friends, opaque outside src/secrets/. */
  keyMaterial: KeyMaterial;
  /** ltijs's own encryption key; independent of SECRET_KEY so rotating one never breaks the other. */
  ltiKey: string;
  /** How long an ltik (the session token of one launch) is accepted. */
  ltikMaxAgeSeconds: number;
  /** How old an id_token's `iat` may be at launch. */
  idTokenMaxAgeSeconds: number;
  /** Run the feedback worker in this process (off for web-only processes). */
  runWorker: boolean;
  /** Provider calls in flight per provider connection, per worker process. */
  providerConcurrency: number;
  /** Calls started per provider connection per minute, per worker process (0: no limit). */
  providerRatePerMinute: number;
  /** How long a worker owns a run without renewing; a crashed worker's runs are retried after it. */
  runLeaseMs: number;
  /** On SIGTERM, how long calls in flight may finish before their runs are released to other workers. */
  shutdownGraceMs: number;
  /** A worker process serves /healthz, /readyz and /metrics on this port; undefined: no HTTP. */
  workerHttpPort: number | undefined;
  /** Bearer token for GET /metrics; undefined: /metrics is off (404). */
  metricsToken: string | undefined;
  /** http://localhost URLs allowed for platforms and providers (never in production). */
  allowLocalUrls: boolean;
  /** Things worth telling the operator at boot (generated dev keys, ...). */
  warnings: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Parses `sqlite:<path>` or `postgres://…`; returns a problem message instead of throwing. */
export function parseDatabaseUrl(raw: string, baseDir: string): DatabaseSettings | string {
  if (raw.startsWith('sqlite:')) {
    const rest = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!rest) return 'use sqlite:<path>, for example sqlite:./data/feedforward.sqlite';
    const storage = rest === ':memory:' ? rest : path.resolve(baseDir, rest);
    return { dialect: 'sqlite', storage, url: raw };
  }
  if (/^postgres(ql)?:\/\//.test(raw)) {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      return 'is not a valid URL; use postgres://user:password@host:5432/database';
    }
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
    if (!parsed.hostname || !database) return 'needs a host and a database name: postgres://user@host:5432/database';
    return { dialect: 'postgres', url: raw, host: parsed.hostname, port: Number(parsed.port || 5432), database };
  }
  return 'must start with sqlite: or postgres:// (for example sqlite:./data/feedforward.sqlite)';
}

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production'], { error: 'must be development, test or production' }).default('development'),
  PORT: z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(0, 'must be between 0 and 65535').max(65535, 'must be between 0 and 65535').default(3000),
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://feedforward.example.edu' }).optional(),
  DATABASE_URL: z.string().optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  LTI_KEY: z.string().optional(),
  LTIK_MAX_AGE: z.coerce.number({ error: 'must be a number of seconds' }).int('must be a whole number of seconds').min(60, 'must be at least 60 seconds').max(86400, 'must be at most 86400 seconds (24 h)').default(7200),
  RUN_WORKER: z.enum(['true', 'false'], { error: 'must be true or false' }).default('true'),
  PROVIDER_CONCURRENCY: z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'must be between 1 and 64').max(64, 'must be between 1 and 64').default(4),
  PROVIDER_RATE_PER_MINUTE: z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(0, 'must be 0 (no limit) or more').max(100000, 'must be at most 100000').default(0),
  RUN_LEASE_SECONDS: z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(2, 'must be at least 2').max(3600, 'must be at most 3600').default(60),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number({ error: 'must be a whole number of seconds' }).int('must be a whole number of seconds').min(0, 'must be between 0 and 600').max(600, 'must be between 0 and 600').default(30),
  WORKER_HTTP_PORT: z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(0, 'must be between 0 and 65535').max(65535, 'must be between 0 and 65535').optional(),
  METRICS_TOKEN: z.string().regex(/^[\x21-\x7e]{16,256}$/, 'must be 16 to 256 printable characters without spaces; generate one with `openssl rand -hex 32`').optional(),
  LTI_TOKEN_MAX_AGE: z.coerce.number({ error: 'must be a number of seconds' }).int('must be a whole number of seconds').min(5, 'must be at least 5 seconds').max(3600, 'must be at most 3600 seconds').default(300),
});

type EnvValues = z.infer<typeof envSchema>;

function emptyToUndefined(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    out[key] = value === undefined || value.trim() === '' ? undefined : value;
  }
  return out;
}

/** Reads and validates the environment; throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: { dataDir?: string; cwd?: string } = {}): Config {
  const cwd = opts.cwd ?? process.cwd();
  const dataDir = opts.dataDir ?? path.resolve(cwd, 'data');
  const raw = emptyToUndefined(env);
  const problems: string[] = [];
  // Field by field, so one bad value does not hide the others (or NODE_ENV).
  const e: Partial<EnvValues> = {};
  for (const [key, schema] of Object.entries(envSchema.shape)) {
    const result = (schema as z.ZodType).safeParse(raw[key]);
    if (result.success) (e as Record<string, unknown>)[key] = result.data;
    else problems.push(`${key}: ${result.error.issues[0]?.message ?? 'is invalid'}`);
  }
  const nodeEnv = e.NODE_ENV ?? 'development';
  const isProduction = nodeEnv === 'production';
  const warnings: string[] = [];

  let database: DatabaseSettings | undefined;
  const dbUrl = e.DATABASE_URL ?? `sqlite:${path.join(dataDir, 'feedforward.sqlite')}`;
  const db = parseDatabaseUrl(dbUrl, cwd);
  if (typeof db === 'string') problems.push(`DATABASE_URL: ${db}`);
  else database = db;

  let ltiKey = raw.LTI_KEY;
  if (ltiKey) {
    if (isProduction) {
      const problem = secretStrengthProblem(ltiKey);
      if (problem) problems.push(`LTI_KEY: ${problem}`);
    }
  } else if (isProduction) {
    problems.push('LTI_KEY: is required in production; generate one with `openssl rand -hex 32`');
  } else {
    const dev = loadOrCreateDevKey(dataDir, 'lti_key');
    ltiKey = dev.value;
    if (dev.created) warnings.push(`LTI_KEY was not set: generated a development key in ${path.join(dataDir, 'lti_key')} (mode 0600). Set LTI_KEY explicitly in production.`);
  }

  const secrets = readSecretEnv(env, { isProduction, dataDir, distinctFrom: { LTI_KEY: ltiKey } });
  problems.push(...secrets.problems);
  warnings.push(...secrets.warnings);

  if (isProduction && !e.PUBLIC_URL?.startsWith('https://')) {
    problems.push('PUBLIC_URL: must be set to the https:// address LMSs reach in production');
  }
  if (problems.length > 0 || !database || !secrets.material || !ltiKey) throw new ConfigError(problems);

  const port = e.PORT ?? 3000;
  return {
    port,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    nodeEnv,
    isProduction,
    logLevel: e.LOG_LEVEL ?? 'info',
    database,
    dataDir,
    keyMaterial: secrets.material,
    ltiKey,
    ltikMaxAgeSeconds: e.LTIK_MAX_AGE ?? 7200,
    idTokenMaxAgeSeconds: e.LTI_TOKEN_MAX_AGE ?? 300,
    allowLocalUrls: !isProduction,
    runWorker: (e.RUN_WORKER ?? 'true') === 'true',
    providerConcurrency: e.PROVIDER_CONCURRENCY ?? 4,
    runLeaseMs: (e.RUN_LEASE_SECONDS ?? 60) * 1000,
    providerRatePerMinute: e.PROVIDER_RATE_PER_MINUTE ?? 0,
    shutdownGraceMs: (e.SHUTDOWN_GRACE_SECONDS ?? 30) * 1000,
    metricsToken: e.METRICS_TOKEN,
    workerHttpPort: e.WORKER_HTTP_PORT,
    warnings,
  };
}
