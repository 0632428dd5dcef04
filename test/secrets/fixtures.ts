// Read-only fixtures shared with the Python side; tests load them by path, never copy them.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const FERNET_FIXTURES = path.join(__dirname, '../../../shared/fixtures/fernet');

function readJson<T>(relativePath: string): T {
  return JSON.parse(readFileSync(path.join(FERNET_FIXTURES, relativePath), 'utf8')) as T;
}

export type GenerateVector = { token: string; now: string; iv: number[]; src: string; secret: string };
export type VerifyVector = { token: string; now: string; ttl_sec: number; src: string; secret: string };
export type InvalidVector = { desc: string; token: string; now: string; ttl_sec: number; secret: string };
export type InteropCase = {
  secret: string;
  salt: string;
  iterations: number;
  fernet_key: string;
  tokens: { plaintext: string; token: string }[];
};

export const generateVectors = readJson<GenerateVector[]>('spec/generate.json');
export const verifyVectors = readJson<VerifyVector[]>('spec/verify.json');
export const invalidVectors = readJson<InvalidVector[]>('spec/invalid.json');
export const interopCases = readJson<{ cases: InteropCase[] }>('python-interop.json').cases;

// The spec writes times as RFC 3339 strings; Fernet counts whole seconds since the epoch.
export function unixSeconds(rfc3339: string): number {
  const millis = Date.parse(rfc3339);
  if (Number.isNaN(millis)) throw new Error(`unparseable fixture time ${rfc3339}`);
  return Math.floor(millis / 1000);
}
