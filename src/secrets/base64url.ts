// Url-safe base64 with '=' padding, the alphabet Fernet tokens and keys use.
// Python's cryptography emits padding and refuses input without it, so we do the same.

// Encodes bytes as url-safe base64 with '=' padding, exactly as Python's urlsafe_b64encode.
export function encodeBase64UrlPadded(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

// Decodes canonical padded url-safe base64, or returns null for anything else.
export function decodeBase64UrlStrict(text: string): Buffer | null {
  if (typeof text !== 'string' || text.length === 0 || text.length % 4 !== 0) return null;
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  // Node's decoder silently skips junk and ignores stray trailing bits; a round trip
  // proves the text was the one canonical encoding of these bytes.
  return encodeBase64UrlPadded(bytes) === text ? bytes : null;
}
