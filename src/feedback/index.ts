// The feedback domain: prompt building, model-output validation and aggregation. Pure functions only.
export * from './types';
export { buildPrompt, outputJsonSchema, SUBMISSION_START, SUBMISSION_END, IGNORE_INSTRUCTIONS_SENTENCE } from './prompt';
export type { Prompt, PromptInput, PreviousFeedback } from './prompt';
export { parseRunOutput, repairPrompt, OUTPUT_LIMITS } from './output';
export type { ParsedRunOutput } from './output';
export { aggregate, AGGREGATE_POINTS, DEFAULT_DISAGREEMENT_THRESHOLD } from './aggregate';
export type { AggregationOptions } from './aggregate';
