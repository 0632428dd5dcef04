import { createHmac, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { CompactSign, exportJWK, exportSPKI, generateKeyPair, type JWK, type KeyLike } from 'jose';

/** How a platform token is signed: its own key, a stranger's key, not at all, or the HS256 key-confusion attack. */
export type KeyChoice = 'own' | 'other' | 'none' | 'hs256-public';

export interface SignOptions {
  /** undefined = the platform's kid; null = no kid header at all. */
  kid?: string | null;
  alg?: string;
  /** Extra header fields (jku, jwk, x5u, ...), applied after the defaults. */
  header?: Record<string, unknown>;
  key?: KeyChoice;
  /**
   * PEM form used as the HMAC secret for 'hs256-public'. 'pkcs1' is byte-identical to the PEM that
   * ltijs (rasha) derives from a JWKS entry, which is what a confused verifier would use.
   */
  pem?: 'spki' | 'pkcs1';
}

export interface PlatformKey {
  kid: string;
  privateKey: KeyLike;
  publicKey: KeyLike;
}

/** Moodle kids are 20 hex characters (jwks.json: "6a907ea3e2a456449109"). */
export function moodleKid(): string {
  return randomBytes(10).toString('hex');
}

/** Canvas kids are UTC timestamps without milliseconds ("2018-06-18T22:33:20Z"); unique against `taken`. */
export function canvasKid(taken: readonly string[] = []): string {
  let time = Math.floor(Date.now() / 1000) * 1000;
  const format = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  while (taken.includes(format(time))) time += 1000;
  return format(time);
}

/** A fresh RSA-2048 key pair, extractable so its public half can be published and PEM-exported. */
export async function generatePlatformKey(kid: string): Promise<PlatformKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  return { kid, privateKey, publicKey };
}

/** The JWKS entry a platform publishes for a key (same members as Moodle's certs.php). */
export async function publicJwk(key: PlatformKey): Promise<JWK> {
  const { kty, n, e } = await exportJWK(key.publicKey);
  return { kty, alg: 'RS256', kid: key.kid, e, n, use: 'sig' };
}

/** The public key as PEM text, in the form a confused HS256 verifier would feed to HMAC. */
export async function publicPem(key: PlatformKey, form: 'spki' | 'pkcs1' = 'spki'): Promise<string> {
  if (form === 'spki') return exportSPKI(key.publicKey);
  // Node's KeyObject can write PKCS#1; rasha (used by ltijs) writes the same text without the final newline.
  const keyObject = key.publicKey as unknown as { export(o: { type: 'pkcs1'; format: 'pem' }): string };
  return keyObject.export({ type: 'pkcs1', format: 'pem' }).trim();
}

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/** Synchronous RS256 compact JWT with the platform key (for tokens minted inside sync helpers). */
export function signRs256Sync(payload: Record<string, unknown>, key: PlatformKey): string {
  const input = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: key.kid }))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), key.privateKey as KeyObject).toString('base64url')}`;
}

/** Synchronous HS256 compact JWT, the way Canvas mints its internal tokens (message hints, registration tokens). */
export function signHs256Sync(payload: Record<string, unknown>, secret: Buffer | string): string {
  const input = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'HS256' }))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/**
 * Signs `payload` as a compact JWS. `own` and `other` use jose over the exact JSON bytes (no claim
 * validation, so tests can sign malformed claims); `none` and `hs256-public` are built by hand
 * because jose rightly refuses to produce them.
 */
export async function signToken(
  payload: Record<string, unknown>,
  own: PlatformKey,
  foreign: () => Promise<PlatformKey>,
  opts: SignOptions = {},
): Promise<string> {
  const choice = opts.key ?? 'own';
  const kid = opts.kid === undefined ? own.kid : opts.kid;
  const defaultAlg = choice === 'none' ? 'none' : choice === 'hs256-public' ? 'HS256' : 'RS256';
  const header: Record<string, unknown> = { typ: 'JWT', alg: opts.alg ?? defaultAlg };
  if (kid !== null) header.kid = kid;
  Object.assign(header, opts.header);
  const body = JSON.stringify(payload);

  if (choice === 'none') return `${b64url(JSON.stringify(header))}.${b64url(body)}.`;
  if (choice === 'hs256-public') {
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(body)}`;
    const secret = await publicPem(own, opts.pem ?? 'spki');
    return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
  }
  const signer = choice === 'other' ? await foreign() : own;
  return new CompactSign(new TextEncoder().encode(body))
    .setProtectedHeader(header as { alg: string })
    .sign(signer.privateKey);
}
