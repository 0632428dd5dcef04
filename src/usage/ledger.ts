import { randomUUID } from 'node:crypto';
import { DataTypes } from 'sequelize';
import { driverOf, type Statement } from '../db/driver';
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
  const { statement, costMicros } = callInsert(type, ctx, price, call);
  await writeCall(statement);
  return costMicros;
}

/** Writes a row built by callInsert now. */
export async function writeCall(statement: Statement): Promise<void> {
  await driverOf(UsageEntry.sequelize!).run(statement.sql, statement.params);
}

/**
 * The INSERT of one provider call's row, to run now (recordCall) or together with the run's result
 * (finishRun). Once or twice per provider call: plain SQL on the driver (src/db/driver.ts). An append
 * needs none of the model's hooks (they guard updates and deletes). Every attribute the model has is
 * written (absent ones as null), its column and kind read from the model, so a new column is never left out.
 */
export function callInsert(type: Exclude<UsageEntryType, 'correction'>, ctx: CallContext, price: Price, call: CallRecord): { statement: Statement; costMicros: number | null } {
  const row = callRow(type, ctx, price, call);
  const driver = driverOf(UsageEntry.sequelize!);
  const values: Record<string, unknown> = { ...row, id: randomUUID(), createdAt: new Date() };
  const params = ledgerColumns().map(({ name, kind }) => {
    const value = values[name] ?? null;
    return kind === 'date' ? driver.date(value as Date | null) : kind === 'boolean' ? (value === null ? null : driver.bool(value as boolean)) : value;
  });
  return { statement: { sql: insertSql(), params }, costMicros: row.costMicros };
}

let columns: Array<{ name: string; field: string; kind: 'date' | 'boolean' | 'plain' }> | undefined;
function ledgerColumns() {
  columns ??= Object.entries(UsageEntry.getAttributes()).map(([name, attribute]) => ({
    name,
    field: attribute.field ?? name,
    kind: attribute.type instanceof DataTypes.DATE ? 'date' : attribute.type instanceof DataTypes.BOOLEAN ? 'boolean' : 'plain',
  }));
  return columns;
}
let insert: string | undefined;
function insertSql(): string {
  insert ??= `INSERT INTO "usage_entries" (${ledgerColumns().map((c) => `"${c.field}"`).join(', ')}) VALUES (${ledgerColumns().map((_, i) => `$${i + 1}`).join(', ')})`;
  return insert;
}

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
