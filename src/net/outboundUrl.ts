import net from 'node:net';

// Where the tool may send requests (platform JWKS/token/registration URLs, provider base URLs):
// https only, never private, loopback or link-local addresses — except http(s) to localhost in
// development, so a local LMS, the demo and the mock provider work.

export interface OutboundPolicy {
  allowLocalhost: boolean;
  /** Extra host names an admin approved (e.g. an on-premise Ollama). */
  allowedHosts?: string[];
}

const LOCAL_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost']);

function isPrivateIp(host: string): boolean {
  const ip = host.replace(/^\[|\]$/g, '');
  if (net.isIPv4(ip)) {
    const [a, b] = ip.split('.').map(Number) as [number, number];
    return a === 10 || a === 127 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  if (net.isIPv6(ip)) {
    const lower = ip.toLowerCase();
    return lower === '::1' || lower === '::' || lower.startsWith('fc') || lower.startsWith('fd') || lower.startsWith('fe80') || lower.startsWith('::ffff:');
  }
  return false;
}

function isLocalhost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return LOCAL_NAMES.has(h) || h === '127.0.0.1' || h === '::1' || h.endsWith('.localhost');
}

/** Returns null when the URL may be fetched, or a sentence saying why not. */
export function outboundUrlProblem(raw: string, policy: OutboundPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid URL';
  }
  if (url.username || url.password) return 'must not contain credentials';
  const host = url.hostname.toLowerCase();
  if (policy.allowedHosts?.includes(host)) return url.protocol === 'https:' || url.protocol === 'http:' ? null : 'must be an http(s) URL';
  if (isLocalhost(host)) {
    if (!policy.allowLocalhost) return 'must not point at localhost';
    return url.protocol === 'https:' || url.protocol === 'http:' ? null : 'must be an http(s) URL';
  }
  if (url.protocol !== 'https:') return 'must use https';
  if (isPrivateIp(host)) return 'must not point at a private, loopback or link-local address';
  return null;
}
