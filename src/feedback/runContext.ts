import { QueryTypes, type ModelStatic, type Model, type Sequelize } from 'sequelize';
import { Assignment, Deployment, Provider, Run, Submission } from '../models';

// Everything a run needs before its provider call, read in ONE query: the run, its submission,
// assignment, provider connection (only within the run's deployment) and deployment, and the
// feedback of the student's previous released draft. The per-call benchmark found executeRun
// spending ~15 ms of CPU on six separate reads (each SQLite SELECT through Sequelize also runs an
// uncached `PRAGMA table_info` per table), so this is plain SQL whose rows are turned into the usual
// model instances, column by column from each model's own attribute list. Identifiers are
// double-quoted (valid on SQLite and PostgreSQL; Sequelize only runs its PRAGMA for backquoted names).

export interface RunContext {
  run: Run;
  submission: Submission | null;
  assignment: Assignment | null;
  provider: Provider | null;
  deployment: Deployment | null;
  previousFeedback: { summary: string; criteria: Array<{ criterionId: string; comment: string; score: number }> } | null;
}

type AnyModel = ModelStatic<Model>;

const PARTS: Array<{ key: 'run' | 'submission' | 'assignment' | 'provider' | 'deployment'; model: AnyModel; alias: string }> = [
  { key: 'run', model: Run as unknown as AnyModel, alias: 'r' },
  { key: 'submission', model: Submission as unknown as AnyModel, alias: 's' },
  { key: 'assignment', model: Assignment as unknown as AnyModel, alias: 'a' },
  { key: 'provider', model: Provider as unknown as AnyModel, alias: 'p' },
  { key: 'deployment', model: Deployment as unknown as AnyModel, alias: 'd' },
];

let cachedSql: string | null = null;

function contextSql(): string {
  if (cachedSql) return cachedSql;
  const columns = PARTS.flatMap(({ model, alias }) =>
    Object.values(model.getAttributes()).map((attribute) => `${alias}."${attribute.field}" AS "${alias}__${attribute.field}"`),
  );
  cachedSql = `SELECT ${columns.join(', ')},
  (SELECT prev."feedback" FROM "submissions" prev
     WHERE prev."assignment_id" = s."assignment_id" AND prev."user_id" = s."user_id"
       AND prev."draft_number" < s."draft_number" AND prev."status" = 'released'
     ORDER BY prev."draft_number" DESC LIMIT 1) AS "previous_feedback"
FROM "runs" r
LEFT JOIN "submissions" s ON s."id" = r."submission_id"
LEFT JOIN "assignments" a ON a."id" = s."assignment_id"
LEFT JOIN "providers" p ON p."id" = r."provider_id" AND p."deployment_id" = r."deployment_id"
LEFT JOIN "deployments" d ON d."id" = r."deployment_id"
WHERE r."id" = :runId`;
  return cachedSql;
}

/** A stored column value as Sequelize would hand it back (SQLite keeps JSON as text, dates as text, booleans as 0/1). */
function parseValue(typeKey: string, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeKey) {
    case 'JSON':
    case 'JSONB':
      return typeof value === 'string' ? JSON.parse(value) : value;
    case 'DATE':
      if (value instanceof Date) return value;
      return new Date(typeof value === 'string' && !value.includes('+') && !value.endsWith('Z') ? `${value}+00:00` : (value as string));
    case 'BOOLEAN':
      return typeof value === 'boolean' ? value : Number(value) === 1;
    default:
      return value;
  }
}

function instanceFrom<M extends Model>(model: AnyModel, alias: string, row: Record<string, unknown>): M | null {
  const values: Record<string, unknown> = {};
  const attributes = model.getAttributes();
  const primary = attributes[model.primaryKeyAttribute]!;
  if (row[`${alias}__${primary.field}`] === null || row[`${alias}__${primary.field}`] === undefined) return null; // no such row (LEFT JOIN)
  for (const [name, attribute] of Object.entries(attributes)) {
    values[name] = parseValue((attribute.type as { key: string }).key, row[`${alias}__${attribute.field}`]);
  }
  return model.build(values, { isNewRecord: false, raw: true }) as M;
}

/** The run and what it refers to, or null when the run does not exist. */
export async function loadRunContext(sequelize: Sequelize, runId: string): Promise<RunContext | null> {
  const rows = await sequelize.query<Record<string, unknown>>(contextSql(), { replacements: { runId }, type: QueryTypes.SELECT, raw: true });
  const row = rows[0];
  if (!row) return null;
  const built = Object.fromEntries(PARTS.map(({ key, model, alias }) => [key, instanceFrom(model, alias, row)])) as Omit<RunContext, 'previousFeedback'>;
  const feedback = parseValue('JSON', row.previous_feedback) as Submission['feedback'];
  const previousFeedback = feedback ? { summary: feedback.summary, criteria: feedback.criteria.map((c) => ({ criterionId: c.criterionId, comment: c.comment, score: c.score })) } : null;
  return { ...built, previousFeedback };
}
