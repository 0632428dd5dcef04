import pino, { DestinationStream, Logger } from 'pino';

// The one redaction layer: every log line passes through here, structured fields by path and
// free text by pattern, so a secret that slips into a message or an error is still masked.

export const REDACTED = '[redacted]';

const REDACT_PATHS = [
  'apiKey', '*.apiKey', 'api_key', '*.api_key', 'key', '*.key',
  'secret', '*.secret', 'password', '*.password', 'token', '*.token',
  'ltik', '*.ltik', 'ltiKey', '*.ltiKey', 'id_token', '*.id_token', 'idToken', '*.idToken',
  'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'headers.cookie', '*.headers.cookie', 'cookie', '*.cookie', '*.headers["set-cookie"]',
  'api_config', '*.api_config', 'apiConfig', '*.apiConfig', 'text', '*.text', 'submission', '*.submission',
];

// Shapes of credentials that may appear inside free text (provider error bodies, URLs).
const SECRET_PATTERNS: RegExp[] = [
  /\bBearer\s+[A-Za-z0-9._~+/=-]{4,}/gi,
  /\b(sk|pk|rk)-[A-Za-z0-9_-]{6,}/g,
  /\bsk-ant-[A-Za-z0-9_-]{6,}/g,
  /\bhf_[A-Za-z0-9]{6,}/g,
  /\b(AIza)[A-Za-z0-9_-]{10,}/g,
  /([?&](ltik|token|id_token|api[_-]?key|key|access_token)=)[^&\s"']+/gi,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, // JWTs (ltik, id_token)
];

/** Masks every credential-shaped substring of a string. */
export function scrubText(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match, p1: string | undefined) =>
      typeof p1 === 'string' && (p1.startsWith('?') || p1.startsWith('&')) ? `${p1}${REDACTED}` : REDACTED,
    );
  }
  return out;
}

function scrubValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) {
    // Only name, message and code: stacks and raw provider responses stay out of logs.
    const err = value as Error & { code?: unknown; status?: unknown };
    return { type: err.name, message: scrubText(String(err.message)), code: err.code, status: err.status };
  }
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, depth + 1, seen);
  return out;
}

/** Creates the application logger: JSON lines, redacted by path and by pattern. */
export function createLogger(opts: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      serializers: { err: (err: unknown) => scrubValue(err), error: (err: unknown) => scrubValue(err) },
      formatters: { log: (obj) => scrubValue(obj) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubText(a) : a)) as Parameters<typeof method>;
          return method.apply(this, scrubbed);
        },
      },
    },
    opts.destination,
  );
}

export type { Logger };
