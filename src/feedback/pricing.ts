// Cost in integer micro-dollars from the price in force when the call was made (a run reads it with its
// context: the catalogue's override, else its price; see CatalogueModel.effectiveInputMicros). Unknown
// prices give null ("unpriced"), never 0.

export interface Price {
  inputMicrosPerMTok: number | null;
  outputMicrosPerMTok: number | null;
}

/** tokens × micro-dollars per 1M tokens, exact integer arithmetic, rounded half up once. */
export function costMicros(price: Price, tokensIn: number, tokensOut: number): number | null {
  if (price.inputMicrosPerMTok === null || price.outputMicrosPerMTok === null) return null;
  const numerator = BigInt(tokensIn) * BigInt(price.inputMicrosPerMTok) + BigInt(tokensOut) * BigInt(price.outputMicrosPerMTok);
  return Number((numerator + 500_000n) / 1_000_000n);
}
