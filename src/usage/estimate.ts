import { settingsOf } from '../commands/settings';
import { buildPrompt, outputJsonSchema } from '../feedback/prompt';
import { driverOf } from '../db/driver';
import { modelFromRow, selectColumns } from '../db/modelRows';
import { Assignment, CatalogueModel, Deployment, ModelInstance, Provider } from '../models';

// The cost estimate an instructor sees before students submit:
//   students × drafts × Σ over model instances (runs × (input tokens × input price + output tokens × output price))
// Low: one draft per student, a 3 000-character submission, half the instance's maximum output.
// High: every allowed draft, a submission of the full character limit, the full maximum output.
// Input tokens are the prompt FeedForward really sends (instructions, rubric, output schema) plus the
// submission, at 4 characters per token. Repair retries are not included. An instance whose model
// has no known price is listed as "price unknown" and left out of the figures, never counted as $0.

export const CHARS_PER_TOKEN = 4;
export const LOW_SUBMISSION_CHARS = 3000;
/** The prompt without instructions for a typical three-criterion rubric, for a form not filled in yet. */
const TYPICAL_PROMPT_CHARS = 4000;

export interface InstanceEstimate {
  instanceId: string;
  name: string | null;
  model: string | null;
  runs: number;
  priceUnknown: boolean;
  inputTokens: { low: number; high: number };
  outputTokens: { low: number; high: number };
  /** One draft of one student, all runs of this instance. */
  perDraftMicros: { low: number; high: number } | null;
}

export interface Estimate {
  students: number | null;
  studentsSource: 'nrps' | 'instructor' | null;
  drafts: { low: number; high: number };
  instances: InstanceEstimate[];
  lowMicros: number | null;
  highMicros: number | null;
  priceUnknown: boolean;
}

const tokens = (chars: number) => Math.ceil(chars / CHARS_PER_TOKEN);

/** micro-dollars of `runs` calls, exact, rounded half up once. */
function microsOf(runs: number, inTokens: number, outTokens: number, inPrice: number, outPrice: number): number {
  const numerator = BigInt(runs) * (BigInt(inTokens) * BigInt(inPrice) + BigInt(outTokens) * BigInt(outPrice));
  return Number((numerator + 500_000n) / 1_000_000n);
}

/** The prompt's own length without a submission (what every call sends besides the student's text). */
export function promptOverheadChars(assignment: Pick<Assignment, 'title' | 'instructions' | 'rubric' | 'maxDrafts'>, systemPrompt?: string): number {
  // A form not filled in yet (no rubric) cannot build a prompt: count its instructions plus a typical rubric.
  if (assignment.rubric.length === 0) return assignment.instructions.length + TYPICAL_PROMPT_CHARS;
  const prompt = buildPrompt({ assignmentTitle: assignment.title, instructions: assignment.instructions, rubric: assignment.rubric, draftNumber: 1, maxDrafts: assignment.maxDrafts, submissionText: '', systemPrompt });
  return prompt.messages.reduce((n, m) => n + m.content.length, 0) + JSON.stringify(outputJsonSchema(assignment.rubric)).length;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The assignment's instances, their connections (within the deployment) and catalogue entries
 * (hidden ones too, as findCatalogueModel: a hidden model still has a price), in one read however
 * many models it has (estimates, and every submission: plain SQL on the driver, since three reads
 * through Sequelize were a third of a submission's CPU in the fan-out benchmark).
 */
export async function modelsOf(assignment: Pick<Assignment, 'deploymentId' | 'models'>) {
  // A form not saved yet may carry any text as an instance id: only ids can match.
  const ids = [...new Set(assignment.models.map((m) => m.instanceId.toLowerCase()).filter((id) => UUID.test(id)))];
  const rows = ids.length ? await driverOf(ModelInstance.sequelize!).all(modelsSql(ids.length), [assignment.deploymentId, ...ids]) : [];
  const instances = rows.map((row) => modelFromRow(ModelInstance, row, 'i__')!);
  const providers = rows.flatMap((row) => modelFromRow(Provider, row, 'p__') ?? []);
  const entries = rows.flatMap((row) => modelFromRow(CatalogueModel, row, 'cm__') ?? []);
  const entryByKey = new Map(entries.map((e) => [`${e.providerKind}\u0000${e.model}`, e]));
  return {
    instanceById: new Map(instances.map((i) => [i.id, i])),
    providerById: new Map(providers.map((p) => [p.id, p])),
    entryOf: (kind: string, model: string) => entryByKey.get(`${kind}\u0000${model}`) ?? null,
  };
}

const modelsSqlByCount = new Map<number, string>();
function modelsSql(count: number): string {
  const cached = modelsSqlByCount.get(count);
  if (cached) return cached;
  const columns = [selectColumns(ModelInstance, 'i', 'i__'), selectColumns(Provider, 'p', 'p__'), selectColumns(CatalogueModel, 'cm', 'cm__')].join(', ');
  const ids = Array.from({ length: count }, (_, n) => `$${n + 2}`).join(', ');
  const sql = `SELECT ${columns}
FROM "model_instances" i
LEFT JOIN "providers" p ON p."id" = i."provider_id" AND p."deployment_id" = i."deployment_id"
LEFT JOIN "models" cm ON cm."deployment_id" = i."deployment_id" AND cm."provider_kind" = p."kind" AND cm."model" = i."model"
WHERE i."deployment_id" = $1 AND i."id" IN (${ids})`;
  if (count <= 50) modelsSqlByCount.set(count, sql);
  return sql;
}

/** The estimate of an assignment for this many students (null: unknown, figures are null too). */
export async function estimateAssignment(assignment: Assignment, students: { count: number | null; source: Estimate['studentsSource'] }): Promise<Estimate> {
  const deployment = await Deployment.findByPk(assignment.deploymentId);
  const defaults = deployment ? settingsOf(deployment).defaultParams : { maxTokens: 1500 };
  const { instanceById, providerById, entryOf } = await modelsOf(assignment);
  const instances: InstanceEstimate[] = [];
  for (const choice of assignment.models) {
    const instance = instanceById.get(choice.instanceId.toLowerCase()) ?? null;
    const provider = instance && (providerById.get(instance.providerId) ?? null);
    const entry = instance && provider ? entryOf(provider.kind, instance.model) : null;
    const maxTokens = instance?.params.maxTokens ?? defaults.maxTokens;
    const overhead = promptOverheadChars(assignment, instance?.params.systemPrompt);
    const inputTokens = { low: tokens(overhead + Math.min(LOW_SUBMISSION_CHARS, assignment.maxChars)), high: tokens(overhead + assignment.maxChars) };
    const outputTokens = { low: Math.ceil(maxTokens / 2), high: maxTokens };
    const inPrice = entry?.effectiveInputMicros ?? null;
    const outPrice = entry?.effectiveOutputMicros ?? null;
    const priced = inPrice !== null && outPrice !== null;
    instances.push({
      instanceId: choice.instanceId,
      name: instance?.name ?? null,
      model: instance?.model ?? null,
      runs: choice.runs,
      priceUnknown: !priced,
      inputTokens,
      outputTokens,
      perDraftMicros: priced
        ? { low: microsOf(choice.runs, inputTokens.low, outputTokens.low, inPrice, outPrice), high: microsOf(choice.runs, inputTokens.high, outputTokens.high, inPrice, outPrice) }
        : null,
    });
  }
  const drafts = { low: 1, high: assignment.maxDrafts };
  const sum = (k: 'low' | 'high') => instances.reduce((n, i) => n + (i.perDraftMicros?.[k] ?? 0), 0);
  // No priced instance at all: there is no figure to give (never $0).
  const count = instances.some((i) => !i.priceUnknown) ? students.count : null;
  return {
    students: students.count,
    studentsSource: students.count === null ? null : students.source,
    drafts,
    instances,
    lowMicros: count === null ? null : count * drafts.low * sum('low'),
    highMicros: count === null ? null : count * drafts.high * sum('high'),
    priceUnknown: instances.some((i) => i.priceUnknown),
  };
}
