// Fernet (https://github.com/fernet/spec) on node:crypto. Tokens interoperate with
// Python's cryptography in both directions. The npm `fernet` package is not used because
// it accepts bad padding and bad IVs.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeBase64UrlStrict, encodeBase64UrlPadded } from './base64url';

const VERSION = 0x80;
const TIMESTAMP_LENGTH = 8;
const IV_LENGTH = 16;
const BLOCK_LENGTH = 16;
const HMAC_LENGTH = 32;
const HEADER_LENGTH = 1 + TIMESTAMP_LENGTH + IV_LENGTH;
// PKCS7 always adds at least one block, so no valid token is shorter than this.
const MIN_TOKEN_LENGTH = HEADER_LENGTH + BLOCK_LENGTH + HMAC_LENGTH;
const MAX_CLOCK_SKEW_SECONDS = 60;

// The message is fixed so that no token, key or plaintext can ever leak through it.
export class InvalidTokenError extends Error {
  constructor() {
    super('invalid token');
    this.name = 'InvalidTokenError';
  }
}

type FernetKeyParts = { signingKey: Buffer; encryptionKey: Buffer };

function splitKey(key: string): FernetKeyParts {
  const bytes = typeof key === 'string' ? decodeBase64UrlStrict(key) : null;
  // A bad key is a configuration bug, not a bad token, so it gets its own (value-free) error.
  if (!bytes || bytes.length !== 32) throw new Error('Fernet key must be 32 url-safe base64-encoded bytes');
  return { signingKey: bytes.subarray(0, 16), encryptionKey: bytes.subarray(16, 32) };
}

function currentUnixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

// Returns a url-safe base64 Fernet token (with '=' padding) that any spec implementation can decrypt with `key`.
export function fernetEncrypt(
  key: string,
  plaintext: Buffer | string,
  opts: { iv?: Buffer; now?: number } = {},
): string {
  const { signingKey, encryptionKey } = splitKey(key);
  const iv = opts.iv ?? randomBytes(IV_LENGTH);
  if (!Buffer.isBuffer(iv) || iv.length !== IV_LENGTH) throw new Error('Fernet IV must be 16 bytes');
  const now = opts.now ?? currentUnixSeconds();
  if (!Number.isSafeInteger(now) || now < 0) throw new Error('Fernet timestamp must be a non-negative integer');

  const cipher = createCipheriv('aes-128-cbc', encryptionKey, iv);
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);

  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt8(VERSION, 0);
  header.writeBigUInt64BE(BigInt(now), 1);
  iv.copy(header, 1 + TIMESTAMP_LENGTH);

  const signed = Buffer.concat([header, ciphertext]);
  const hmac = createHmac('sha256', signingKey).update(signed).digest();
  return encodeBase64UrlPadded(Buffer.concat([signed, hmac]));
}

// Returns the plaintext only for an authentic, well-formed token; anything else throws InvalidTokenError.
export function fernetDecrypt(key: string, token: string, opts: { ttl?: number; now?: number } = {}): Buffer {
  const { signingKey, encryptionKey } = splitKey(key);
  const bytes = typeof token === 'string' ? decodeBase64UrlStrict(token) : null;
  if (!bytes || bytes.length < MIN_TOKEN_LENGTH) throw new InvalidTokenError();
  if (bytes[0] !== VERSION) throw new InvalidTokenError();
  if ((bytes.length - HEADER_LENGTH - HMAC_LENGTH) % BLOCK_LENGTH !== 0) throw new InvalidTokenError();

  // Authenticate before interpreting anything else: no padding oracle, no trust in the timestamp.
  const signed = bytes.subarray(0, bytes.length - HMAC_LENGTH);
  const expectedHmac = createHmac('sha256', signingKey).update(signed).digest();
  if (!timingSafeEqual(expectedHmac, bytes.subarray(bytes.length - HMAC_LENGTH))) throw new InvalidTokenError();

  if (opts.ttl !== undefined) checkAge(bytes.readBigUInt64BE(1), opts.ttl, opts.now ?? currentUnixSeconds());

  const iv = bytes.subarray(1 + TIMESTAMP_LENGTH, HEADER_LENGTH);
  const decipher = createDecipheriv('aes-128-cbc', encryptionKey, iv);
  decipher.setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(signed.subarray(HEADER_LENGTH)), decipher.final()]);
  return stripPkcs7(padded);
}

// Like Python's cryptography and fernet-go, the clock is consulted only when a TTL is asked for:
// long-lived stored secrets must stay readable whatever the clocks of the writer and reader say.
function checkAge(timestamp: bigint, ttl: number, now: number): void {
  if (!Number.isFinite(ttl) || ttl < 0 || !Number.isFinite(now)) throw new InvalidTokenError();
  const nowSeconds = BigInt(Math.floor(now));
  if (timestamp + BigInt(Math.floor(ttl)) < nowSeconds) throw new InvalidTokenError();
  if (timestamp > nowSeconds + BigInt(MAX_CLOCK_SKEW_SECONDS)) throw new InvalidTokenError();
}

function stripPkcs7(padded: Buffer): Buffer {
  const padLength = padded[padded.length - 1] ?? 0;
  if (padLength < 1 || padLength > BLOCK_LENGTH || padLength > padded.length) throw new InvalidTokenError();
  for (let i = padded.length - padLength; i < padded.length; i++) {
    if (padded[i] !== padLength) throw new InvalidTokenError();
  }
  return padded.subarray(0, padded.length - padLength);
}
