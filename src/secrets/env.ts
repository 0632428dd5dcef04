import path from 'node:path';
import { createKeyMaterial, KeyMaterial, secretStrengthProblem } from './keyMaterial';
import { loadOrCreateDevKey } from './devKeys';

// Reads SECRET_KEY and its companions. Lives here so that no code outside src/secrets/ touches the
// raw key: the rest of the app only ever holds the opaque KeyMaterial.

export const DEFAULT_SALT = 'feedforward-lti/fernet-salt/v1';
export const DEFAULT_KDF_ITERATIONS = 600000;
const SECRET_VARS = ['SECRET_KEY', 'SECRET_KEY_PREVIOUS', 'ENCRYPTION_SALT', 'KDF_ITERATIONS'] as const;

export interface SecretEnvResult {
  material?: KeyMaterial;
  problems: string[];
  warnings: string[];
}

/** Validates the secret-key variables; in development a missing SECRET_KEY is generated under dataDir. */
export function readSecretEnv(
  env: NodeJS.ProcessEnv,
  opts: { isProduction: boolean; dataDir: string; distinctFrom?: Record<string, string | undefined> },
): SecretEnvResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  const value = (name: (typeof SECRET_VARS)[number]) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };

  const salt = value('ENCRYPTION_SALT') ?? DEFAULT_SALT;
  if (salt.length < 8) problems.push('ENCRYPTION_SALT: must be at least 8 characters');

  const rawIterations = value('KDF_ITERATIONS');
  const iterations = rawIterations === undefined ? DEFAULT_KDF_ITERATIONS : Number(rawIterations);
  const minIterations = opts.isProduction ? DEFAULT_KDF_ITERATIONS : 1000;
  if (!Number.isSafeInteger(iterations) || !/^\d+$/.test(rawIterations ?? '0')) {
    problems.push('KDF_ITERATIONS: must be a whole number (default 600000)');
  } else if (iterations < minIterations) {
    problems.push(`KDF_ITERATIONS: must be at least ${minIterations}${opts.isProduction ? ' in production (OWASP)' : ''}`);
  }

  let current = value('SECRET_KEY');
  if (current) {
    if (current !== current.trim()) problems.push('SECRET_KEY: has leading or trailing whitespace');
    if (opts.isProduction) {
      const problem = secretStrengthProblem(current);
      if (problem) problems.push(`SECRET_KEY: ${problem}`);
    }
  } else if (opts.isProduction) {
    problems.push('SECRET_KEY: is required in production; generate one with `openssl rand -hex 32`');
  } else {
    const dev = loadOrCreateDevKey(opts.dataDir, 'secret_key');
    current = dev.value;
    if (dev.created) {
      warnings.push(`SECRET_KEY was not set: generated a development key in ${path.join(opts.dataDir, 'secret_key')} (mode 0600). Set SECRET_KEY explicitly in production.`);
    }
  }

  for (const [name, other] of Object.entries(opts.distinctFrom ?? {})) {
    if (current && other && other === current) problems.push(`${name}: must differ from SECRET_KEY`);
  }

  const previous = (value('SECRET_KEY_PREVIOUS') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (opts.isProduction) {
    previous.forEach((p, i) => {
      const problem = secretStrengthProblem(p);
      if (problem) problems.push(`SECRET_KEY_PREVIOUS (entry ${i + 1}): ${problem}`);
    });
  }

  if (problems.length > 0 || !current) return { problems, warnings };
  return { material: createKeyMaterial({ current, previous, salt, iterations }), problems, warnings };
}
