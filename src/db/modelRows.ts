import { DataTypes, Model, type InferAttributes, type ModelStatic } from 'sequelize';

// Models from rows of a hand-written query (a JOIN over several tables, or INSERT … RETURNING), so a
// hot path can read what it needs in one round trip. Converts what the drivers leave as text or
// numbers (SQLite booleans, dates and JSON) the way Sequelize's own reads do.

/** `[alias.column, prefixcolumn]` for every column of the model. */
export function columnsOf(model: ModelStatic<Model>, alias: string, prefix: string): Array<[expression: string, name: string]> {
  return Object.values(model.getAttributes()).map((a) => [`${alias}."${a.field}"`, `${prefix}${a.field}`]);
}

/** `alias.column AS "prefixcolumn"` for every column of the model: a select list for modelFromRow. */
export function selectColumns(model: ModelStatic<Model>, alias: string, prefix: string): string {
  return columnsOf(model, alias, prefix)
    .map(([expression, name]) => `${expression} AS "${name}"`)
    .join(', ');
}

type Kind = 'boolean' | 'date' | 'json' | 'plain';
const kindOf = (type: unknown): Kind =>
  type instanceof DataTypes.BOOLEAN ? 'boolean' : type instanceof DataTypes.DATE ? 'date' : type instanceof DataTypes.JSON ? 'json' : 'plain';

function convert(kind: Kind, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (kind === 'boolean') return value === true || value === 1 || value === '1' || value === 'true';
  if (kind === 'date') return value instanceof Date ? value : new Date(value as string);
  if (kind === 'json') return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  return value;
}

// Each model's columns and their kinds, worked out once (this runs for every column of every row on
// the per-call path).
const plans = new WeakMap<ModelStatic<Model>, Array<{ name: string; field: string; kind: Kind }>>();
function planOf(model: ModelStatic<Model>) {
  let plan = plans.get(model);
  if (!plan) {
    plan = Object.entries(model.getAttributes()).map(([name, attribute]) => ({ name, field: attribute.field ?? name, kind: kindOf(attribute.type) }));
    plans.set(model, plan);
  }
  return plan;
}

/** The model's attribute values (as Sequelize would read them) from the columns named `prefix + column`; null when its primary key is null (no row joined). */
export function valuesFromRow<M extends Model>(model: ModelStatic<M>, row: Record<string, unknown>, prefix = ''): InferAttributes<M> | null {
  const values: Record<string, unknown> = {};
  for (const { name, field, kind } of planOf(model as unknown as ModelStatic<Model>)) values[name] = convert(kind, row[`${prefix}${field}`]);
  if (values[model.primaryKeyAttribute] === null) return null;
  return values as InferAttributes<M>;
}

/** The model instance (as if read by Sequelize) from the columns named `prefix + column`; null when its primary key is null (no row joined). */
export function modelFromRow<M extends Model>(model: ModelStatic<M>, row: Record<string, unknown>, prefix = ''): M | null {
  const values = valuesFromRow(model, row, prefix);
  return values && modelOf(model, values);
}

/** The model instance of a stored row's values (as if read by Sequelize: nothing marked changed). */
export function modelOf<M extends Model>(model: ModelStatic<M>, values: InferAttributes<M>): M {
  return model.build(values as unknown as M['_creationAttributes'], { isNewRecord: false, raw: true });
}
