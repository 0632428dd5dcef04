import type { z } from 'zod';
import { HttpError } from '../../errors';
import type { Rubric } from '../../feedback/types';
import type { LaunchSession } from '../../lti/session';
import type { Assignment, ModelInstance } from '../../models';
import type { AssignmentModelChoice } from '../../models/Assignment';
import { presentInstance } from '../../presenters/configuration';
import { AGGREGATION_OPTIONS } from './feedbackViewModels';
import { FormFailure, FormReader, formFailure } from './forms';

// The assignment set-up form, shared by the first launch of a link, deep linking and editing.
// Rows are plain inputs named rubric.<i>.<field> and models.<i>.<field>; a blank criterion row and
// an unticked model are left out, so the API schema sees exactly the rows the instructor filled in,
// and its problems (numbered by the API's array) are moved back to the rows they came from.

export const MAX_CRITERIA = 20;
const MIN_CRITERION_ROWS = 3;
const MAX_MODEL_ROWS = 200;
const NEW_ROW = { id: '', name: '', description: '', weight: '1', maxScore: '10' };

export interface CriterionValues {
  id: string;
  name: string;
  description: string;
  weight: string;
  maxScore: string;
}

export interface ModelValues {
  use: boolean;
  runs: string;
  weight: string;
}

export interface AssignmentFormState {
  fields: { title: string; instructions: string; aggregation: string; quorum: string; releaseMode: string; maxDrafts: string; maxChars: string; gradePassback: boolean; expectedStudents: string };
  criteria: CriterionValues[];
  /** By instance id. */
  models: Map<string, ModelValues>;
}

interface FormErrors {
  fields: Record<string, string>;
  criteria: Array<Record<string, string>>;
  models: Map<string, Record<string, string>>;
}

const TOP_LABELS: Record<string, string> = {
  title: 'Title',
  instructions: 'Instructions',
  rubric: 'Rubric',
  models: 'Models',
  aggregation: 'Aggregation',
  quorum: 'Quorum',
  releaseMode: 'Release',
  maxDrafts: 'Drafts per student',
  maxChars: 'Text limit',
  gradePassback: 'Grade passback',
  expectedStudents: 'Expected students',
};
const CRITERION_LABELS: Record<keyof CriterionValues, string> = { id: 'id', name: 'name', description: 'description', weight: 'weight', maxScore: 'maximum score' };
const MODEL_LABELS: Record<string, string> = { instanceId: '', runs: 'runs', weight: 'weight' };

const text = (value: number | null | undefined) => (value === null || value === undefined ? '' : String(value));

/** A new assignment: three empty criteria, the admin's default instances ticked. */
export function blankState(defaults: AssignmentModelChoice[], title = ''): AssignmentFormState {
  return {
    fields: { title, instructions: '', aggregation: 'mean', quorum: '', releaseMode: 'review', maxDrafts: '3', maxChars: '50000', gradePassback: false, expectedStudents: '' },
    criteria: [],
    models: new Map(defaults.map((d) => [d.instanceId, { use: true, runs: String(d.runs), weight: String(d.weight) }])),
  };
}

/** An existing assignment, for its edit form. */
export function stateOf(a: Assignment): AssignmentFormState {
  return {
    fields: { title: a.title, instructions: a.instructions, aggregation: a.aggregation, quorum: text(a.quorum), releaseMode: a.releaseMode, maxDrafts: String(a.maxDrafts), maxChars: String(a.maxChars), gradePassback: a.gradePassback, expectedStudents: text(a.expectedStudents) },
    criteria: a.rubric.map((c) => ({ id: c.id, name: c.name, description: c.description, weight: String(c.weight), maxScore: String(c.maxScore) })),
    models: new Map(a.models.map((m) => [m.instanceId, { use: true, runs: String(m.runs), weight: String(m.weight) }])),
  };
}

export interface PostedForm {
  form: FormReader;
  state: AssignmentFormState;
  /** The model rows in the order they were posted (their index is in the field names). */
  posted: Array<{ instanceId: string } & ModelValues>;
  /** "Add another criterion" was pressed: show the form again with one more row, save nothing. */
  addCriterion: boolean;
}

/** Reads a posted set-up form as typed. */
export function readAssignmentForm(body: unknown): PostedForm {
  const form = new FormReader(body);
  const rows = (prefix: string, max: number) => Array.from({ length: form.rowCount(prefix, max) }, (_, i) => i);
  const criteria = rows('rubric', MAX_CRITERIA).map((i) => ({
    id: form.text(`rubric.${i}.id`),
    name: form.text(`rubric.${i}.name`),
    description: form.text(`rubric.${i}.description`),
    weight: form.text(`rubric.${i}.weight`),
    maxScore: form.text(`rubric.${i}.maxScore`),
  }));
  const posted = rows('models', MAX_MODEL_ROWS).map((i) => ({
    instanceId: form.text(`models.${i}.instanceId`),
    use: form.checkbox(`models.${i}.use`),
    runs: form.text(`models.${i}.runs`),
    weight: form.text(`models.${i}.weight`),
  }));
  const state: AssignmentFormState = {
    fields: {
      title: form.text('title'),
      instructions: form.text('instructions'),
      aggregation: form.text('aggregation'),
      quorum: form.text('quorum'),
      releaseMode: form.text('releaseMode'),
      maxDrafts: form.text('maxDrafts'),
      maxChars: form.text('maxChars'),
      gradePassback: form.checkbox('gradePassback'),
      expectedStudents: form.text('expectedStudents'),
    },
    criteria,
    models: new Map(posted.filter((m) => m.instanceId).map((m) => [m.instanceId, { use: m.use, runs: m.runs, weight: m.weight }])),
  };
  return { form, state, posted, addCriterion: form.raw('addCriterion') !== undefined };
}

const isBlank = (c: CriterionValues) => !c.id.trim() && !c.name.trim() && !c.description.trim();

/** A criterion id from its name when the instructor left the id empty: "Use of evidence" → "use-of-evidence". */
function idFrom(name: string, k: number): string {
  const slug = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug || `criterion-${k + 1}`;
}

export interface ParsedAssignment<T> {
  input: T;
  /** Moves a command's field problems (numbered by the input's arrays) back to the form's rows. */
  remap: (err: unknown) => unknown;
}

/**
 * The typed values checked against the API schema. Levels of criteria whose id is unchanged are
 * kept (the form does not edit them). Throws a 400 whose fields name the form's own rows.
 */
export function parseAssignment<S extends z.ZodType>(posted: PostedForm, schema: S, existing?: Rubric): ParsedAssignment<z.infer<S>> {
  const { form, state } = posted;
  const rubricRows: number[] = [];
  const rubric = state.criteria.flatMap((c, i) => {
    if (isBlank(c)) return [];
    const k = rubricRows.push(i) - 1;
    const id = c.id.trim() || idFrom(c.name, k);
    const levels = existing?.find((e) => e.id === id)?.levels;
    return [{ id, name: c.name, description: c.description, weight: form.number(`rubric.${i}.weight`, `rubric.${k}.weight`), maxScore: form.number(`rubric.${i}.maxScore`, `rubric.${k}.maxScore`), ...(levels ? { levels } : {}) }];
  });
  const modelRows: number[] = [];
  const models = posted.posted.flatMap((m, i) => {
    if (!m.use) return [];
    const k = modelRows.push(i) - 1;
    return [{ instanceId: m.instanceId, runs: form.number(`models.${i}.runs`, `models.${k}.runs`), weight: form.number(`models.${i}.weight`, `models.${k}.weight`) }];
  });
  const remap = (err: unknown): unknown => {
    if (!(err instanceof HttpError) || !err.fields) return err;
    const fields = err.fields.map((f) => {
      const match = /^(rubric|models)\.(\d+)(\..*)?$/.exec(f.field);
      if (!match) return f;
      const row = (match[1] === 'rubric' ? rubricRows : modelRows)[Number(match[2])];
      return row === undefined ? { ...f, field: match[1]! } : { ...f, field: `${match[1]}.${row}${match[3] ?? ''}` };
    });
    return new HttpError(err.status, err.code, err.message, fields, err.details);
  };
  const values = {
    title: state.fields.title,
    instructions: state.fields.instructions,
    rubric,
    models,
    aggregation: form.optional('aggregation'),
    quorum: form.number('quorum') ?? null,
    releaseMode: form.optional('releaseMode'),
    maxDrafts: form.number('maxDrafts'),
    maxChars: form.number('maxChars'),
    gradePassback: state.fields.gradePassback,
    expectedStudents: form.number('expectedStudents') ?? null,
  };
  try {
    return { input: form.parse(schema, values), remap };
  } catch (err) {
    throw remap(err);
  }
}

/** The labels a refusal's messages start with, for every row the form posted. */
function labelsFor(posted: PostedForm, names: Map<string, string>): Record<string, string> {
  const labels: Record<string, string> = { ...TOP_LABELS };
  posted.state.criteria.forEach((_, i) => {
    for (const [field, word] of Object.entries(CRITERION_LABELS)) labels[`rubric.${i}.${field}`] = `Criterion ${i + 1} ${word}`;
  });
  posted.posted.forEach((m, i) => {
    const name = names.get(m.instanceId) ?? 'this model instance';
    for (const [field, word] of Object.entries(MODEL_LABELS)) labels[`models.${i}.${field}`] = `Model \u201c${name}\u201d${word ? ` ${word}` : ''}`;
  });
  return labels;
}

/** The refusal as the form shows it: each message beside its row's input, and the summary. */
export function assignmentFailure(err: unknown, posted: PostedForm, names: Map<string, string>): (FormFailure & { rows: FormErrors }) | null {
  const failure = formFailure(err, labelsFor(posted, names));
  if (!failure) return null;
  const rows: FormErrors = { fields: {}, criteria: posted.state.criteria.map(() => ({})), models: new Map() };
  for (const [name, message] of Object.entries(failure.errors)) {
    const match = /^(rubric|models)\.(\d+)\.(\w+)$/.exec(name);
    if (!match) {
      rows.fields[name] = message;
      continue;
    }
    const i = Number(match[2]);
    if (match[1] === 'rubric') {
      const row = rows.criteria[i];
      if (row) row[match[3]!] = message;
    } else {
      const id = posted.posted[i]?.instanceId;
      if (id !== undefined) rows.models.set(id, { ...rows.models.get(id), [match[3] === 'instanceId' ? 'use' : match[3]!]: message });
    }
  }
  return { ...failure, rows };
}

export interface FormOptions {
  /** Where the form posts. */
  action: string;
  /** 'create', 'deep-link' or 'edit': the words of the heading and the button. */
  mode: 'create' | 'deep-link' | 'edit';
  /** One more empty criterion row than posted. */
  addRow?: boolean;
  errors?: FormErrors;
}

/** The set-up form's data: rows with their values and messages, and the choices of each select. */
export function assignmentFormView(session: LaunchSession, state: AssignmentFormState, instances: ModelInstance[], opts: FormOptions) {
  const errors = opts.errors ?? { fields: {}, criteria: [], models: new Map<string, Record<string, string>>() };
  const criteria = [...state.criteria];
  while (criteria.length < MIN_CRITERION_ROWS) criteria.push({ ...NEW_ROW });
  const added = opts.addRow && criteria.length < MAX_CRITERIA ? criteria.push({ ...NEW_ROW }) - 1 : -1;

  const visible = new Set(instances.map((i) => i.id));
  const rows = [
    ...instances.map((instance) => {
      const p = presentInstance(instance, session);
      return { id: p.id, name: p.name, model: p.model, owner: p.owner.type === 'system' ? 'System' : 'Mine', isDefault: p.isDefault, unavailable: false };
    }),
    // A model the assignment uses that this instructor cannot see (a colleague's own): shown, so saving does not drop it silently.
    ...[...state.models.entries()].filter(([id, v]) => v.use && !visible.has(id)).map(([id]) => ({ id, name: 'A model instance you cannot use', model: '', owner: '', isDefault: false, unavailable: true })),
  ];
  return {
    form: {
      action: opts.action,
      mode: opts.mode,
      isEdit: opts.mode === 'edit',
      isDeepLink: opts.mode === 'deep-link',
      button: opts.mode === 'edit' ? 'Save changes' : opts.mode === 'deep-link' ? 'Create and add to the course' : 'Create assignment',
      canAddCriterion: criteria.length < MAX_CRITERIA,
    },
    values: state.fields,
    errors: errors.fields,
    criteria: criteria.map((c, i) => ({ index: i, number: i + 1, ...c, errors: errors.criteria[i] ?? {}, autofocus: i === added })),
    models: rows.map((row, j) => {
      const v = state.models.get(row.id) ?? { use: false, runs: '2', weight: '1' };
      return { index: j, ...row, use: v.use, runs: v.runs, weight: v.weight, errors: errors.models.get(row.id) ?? {} };
    }),
    aggregations: AGGREGATION_OPTIONS.map((o) => ({ ...o, selected: o.value === (state.fields.aggregation || 'mean') })),
    releaseModes: [
      { value: 'review', label: 'After my review: I check and release the feedback', checked: state.fields.releaseMode !== 'auto' },
      { value: 'auto', label: 'Automatically, as soon as it is ready (feedback that needs review still waits for me)', checked: state.fields.releaseMode === 'auto' },
    ],
  };
}

/** Instance names by id, for the messages of a refusal. */
export const instanceNames = (instances: ModelInstance[]) => new Map(instances.map((i) => [i.id, i.name]));
