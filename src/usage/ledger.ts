import { randomUUID } from 'node:crypto';
import { driverOf } from '../db/driver';
import { UsageEntry } from '../models';
import type { UsageEntryType } from '../models/UsageEntry';
import { costMicros, type Price } from '../feedback/pricing';

// The usage ledger: one appended row per provider call (run calls, their repair retries, "Test
// connection"), with the price in force at the time. Rows are never updated or deleted; a correction
// is a new row that names the one it amends. Costs are integer micro-dollars; a model without a
// known price is recorded with its tokens and `unpriced`, never as $0.

export interface CallContext {
  deploymentId: string;
  providerId: string;
  providerKind: string;
  ownerType: string;
  ownerUserId: string | null;
  instanceId?: string | null;
  model?: string | null;
  instructorUserId?: string | null;
  assignmentId?: string | null;
  submissionId?: string | null;
  runId?: string | null;
}

export interface CallRecord {
  tokensIn: number;
  tokensOut: number;
  latencyMs: number;
  /** ok, or the normalised error code (auth, rate_limited, timeout, ...) */
  outcome: string;
}

/** Appends one provider call; returns its cost (null when unpriced). */
export async function recordCall(type: Exclude<UsageEntryType, 'correction'>, ctx: CallContext, price: Price, call: CallRecord): Promise<number | null> {
  const row = callRow(type, ctx, price, call);
  // Once or twice per provider call: plain SQL on the driver (src/db/driver.ts), the same columns the
  // model writes. An append needs none of the model's hooks (they guard updates and deletes).
  const driver = driverOf(UsageEntry.sequelize!);
  await driver.run(INSERT_CALL, [
    randomUUID(), row.deploymentId, row.entryType, row.providerId, row.providerKind, row.instanceId ?? null, row.model ?? null, row.ownerType, row.ownerUserId,
    row.instructorUserId ?? null, row.assignmentId ?? null, row.submissionId ?? null, row.runId ?? null, row.tokensIn, row.tokensOut, row.costMicros, driver.bool(row.unpriced),
    row.priceInputMicros, row.priceOutputMicros, row.latencyMs, row.outcome, driver.date(new Date()),
  ]);
  return row.costMicros;
}

const INSERT_CALL = `INSERT INTO "usage_entries" ("id", "deployment_id", "entry_type", "provider_id", "provider_kind", "instance_id", "model", "owner_type", "owner_user_id",
  "instructor_user_id", "assignment_id", "submission_id", "run_id", "tokens_in", "tokens_out", "cost_micros", "unpriced",
  "price_input_micros", "price_output_micros", "latency_ms", "outcome", "created_at")
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`;

/** The ledger row of one call: cost from the price in force, in integer micro-dollars. */
export function callRow(type: Exclude<UsageEntryType, 'correction'>, ctx: CallContext, price: Price, call: CallRecord) {
  const cost = costMicros(price, call.tokensIn, call.tokensOut);
  return {
    ...ctx,
    entryType: type,
    tokensIn: call.tokensIn,
    tokensOut: call.tokensOut,
    costMicros: cost,
    unpriced: cost === null,
    priceInputMicros: price.inputMicrosPerMTok,
    priceOutputMicros: price.outputMicrosPerMTok,
    latencyMs: call.latencyMs,
    outcome: call.outcome,
  };
}

/** A correction of an earlier row: a new row with the difference (tokens and cost may be negative). */
export async function recordCorrection(original: UsageEntry, delta: { tokensIn?: number; tokensOut?: number; costMicros: number }, note: string): Promise<UsageEntry> {
  return UsageEntry.create({
    deploymentId: original.deploymentId,
    entryType: 'correction',
    providerId: original.providerId,
    providerKind: original.providerKind,
    instanceId: original.instanceId,
    model: original.model,
    ownerType: original.ownerType,
    ownerUserId: original.ownerUserId,
    instructorUserId: original.instructorUserId,
    assignmentId: original.assignmentId,
    submissionId: original.submissionId,
    runId: original.runId,
    correctsEntryId: original.id,
    tokensIn: delta.tokensIn ?? 0,
    tokensOut: delta.tokensOut ?? 0,
    costMicros: delta.costMicros,
    unpriced: false,
    outcome: 'correction',
    note: note.slice(0, 300),
  });
}

/** "Test connection": the provider's smallest call (listing models), which is not billed: $0, not unpriced. */
export async function recordVerifyCall(ctx: CallContext, call: Pick<CallRecord, 'latencyMs' | 'outcome'>): Promise<void> {
  await UsageEntry.create({ ...ctx, entryType: 'verify', tokensIn: 0, tokensOut: 0, costMicros: 0, unpriced: false, latencyMs: call.latencyMs, outcome: call.outcome });
}
