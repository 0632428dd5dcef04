import type { InferAttributes, Sequelize } from 'sequelize';
import type { Price } from '../feedback/pricing';
import type { BudgetHint } from '../feedback/runContext';
import type { Assignment, Provider, Run } from '../models';
import type { Statement } from '../db/driver';
import { callInsert, CallContext, CallRecord, writeCall } from '../usage/ledger';
import { maxPromptTokens, maxRunCostMicros } from './maxCost';
import { endReservations, Gate, reserveForRun } from './reserve';

// What one run attempt spends: its reservation before the first call, one ledger row per call
// (the repair retry included), and the settlement when the attempt ends. executeRun holds one of
// these per attempt so that the budget logic stays here.
//
// When the run holds no reservation, the last call's row is held back (`takeHeldRow`) and written
// with the run's result (finishRun; on PostgreSQL one statement, so one round trip and one commit
// fewer per call). It is never held across an await that could last: before another provider call
// (`writeHeld`), or in `end`, it is written. With a reservation every row is written at once,
// because settling it must never see a call the ledger does not have yet.

export class RunCharges {
  private costMicros = 0;
  private calls = 0;
  private unpriced = false;
  private ended = false;
  private held: Statement | null = null;

  private constructor(
    private readonly sequelize: Sequelize,
    private readonly ctx: CallContext,
    private readonly price: Price,
    private readonly reservationIds: string[],
  ) {}

  /** Reserves the run's maximum cost; `charges` is set only when the run may call the provider. */
  static async open(
    sequelize: Sequelize,
    args: { run: InferAttributes<Run>; assignment: InferAttributes<Assignment>; provider: InferAttributes<Provider>; price: Price; budgets?: BudgetHint; promptChars: number; promptMessages: number; maxTokens: number },
  ): Promise<{ gate: Gate; charges?: RunCharges }> {
    const { run, assignment, provider, price } = args;
    const amount = maxRunCostMicros(price, maxPromptTokens(args.promptChars, args.promptMessages), args.maxTokens);
    const target = { deploymentId: run.deploymentId, providerId: provider.id, instructorUserId: assignment.createdByUserId, assignmentId: assignment.id };
    const gate = await reserveForRun(sequelize, run.id, target, amount, args.budgets);
    if (gate.outcome !== 'go') return { gate };
    const ctx: CallContext = {
      deploymentId: run.deploymentId,
      providerId: provider.id,
      providerKind: provider.kind,
      ownerType: provider.ownerType,
      ownerUserId: provider.ownerUserId,
      instanceId: run.instanceId,
      model: run.instanceSnapshot.model,
      instructorUserId: assignment.createdByUserId,
      assignmentId: assignment.id,
      submissionId: run.submissionId,
      runId: run.id,
    };
    return { gate, charges: new RunCharges(sequelize, ctx, price, gate.reservationIds) };
  }

  /** Appends one provider call to the ledger (held back when no reservation is open: see above). */
  async record(call: CallRecord): Promise<void> {
    await this.writeHeld();
    this.calls += 1;
    const { statement, costMicros } = callInsert('run_call', this.ctx, this.price, call);
    if (costMicros === null) this.unpriced = true;
    else this.costMicros += costMicros;
    if (this.reservationIds.length === 0) this.held = statement;
    else await writeCall(statement);
  }

  /** The last call's ledger row, not yet written, for finishRun to write with the result; null when none. */
  takeHeldRow(): Statement | null {
    const held = this.held;
    this.held = null;
    return held;
  }

  /** Writes the held row (if finishRun will not); settles the reservation to what the calls cost (released when none was made); once. */
  async end(): Promise<void> {
    await this.writeHeld();
    if (this.ended) return;
    this.ended = true;
    await endReservations(this.sequelize, this.ctx.deploymentId, this.reservationIds, this.calls > 0 && !this.unpriced ? this.costMicros : null);
  }

  /** Writes the held row now: before another provider call, which may take minutes. */
  async writeHeld(): Promise<void> {
    const held = this.takeHeldRow();
    if (held) await writeCall(held);
  }
}
