import type { Price } from '../feedback/pricing';

// The most a run can cost, reserved before its first call. No tokenizer covers every provider, so
// prompt tokens are over-counted on purpose: one token per 3 characters (English averages about 4),
// plus a small allowance per message. The reservation covers the call *and* its one repair retry
// (whose prompt also carries the first answer): a repair that could not be paid for would waste the
// first call. Settlement returns what was not used as soon as the run ends.

const CHARS_PER_TOKEN_MAX = 3;
const MESSAGE_OVERHEAD_TOKENS = 8;
/** The repair prompt's own instruction, in tokens (output.ts repairPrompt plus the problem text). */
export const REPAIR_PROMPT_TOKENS = 300;

/** A deliberately high count of the tokens of these characters. */
export function maxPromptTokens(chars: number, messages: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN_MAX) + messages * MESSAGE_OVERHEAD_TOKENS;
}

function callMicros(price: Required<{ [K in keyof Price]: number }>, tokensIn: number, tokensOut: number): number {
  // Rounded up: a reservation never falls short of the exact cost.
  const numerator = BigInt(tokensIn) * BigInt(price.inputMicrosPerMTok) + BigInt(tokensOut) * BigInt(price.outputMicrosPerMTok);
  return Number((numerator + 999_999n) / 1_000_000n);
}

/** Micro-dollars to reserve for one run (first call + repair), or null when the model is unpriced. */
export function maxRunCostMicros(price: Price, promptTokens: number, maxOutputTokens: number): number | null {
  if (price.inputMicrosPerMTok === null || price.outputMicrosPerMTok === null) return null;
  const p = { inputMicrosPerMTok: price.inputMicrosPerMTok, outputMicrosPerMTok: price.outputMicrosPerMTok };
  const first = callMicros(p, promptTokens, maxOutputTokens);
  const repair = callMicros(p, promptTokens + maxOutputTokens + REPAIR_PROMPT_TOKENS, maxOutputTokens);
  return first + repair;
}
