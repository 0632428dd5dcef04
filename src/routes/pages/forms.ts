import type { z } from 'zod';
import { FieldProblem, HttpError, validationFailed } from '../../errors';

// HTML forms send strings. This module turns them into the typed bodies the JSON API's schemas
// expect, so a form and an API call reach the command with the same validated input. Numbers are
// parsed strictly: "0.7abc", "NaN", "Infinity" and "1e309" are problems on their field, never NaN.

type Body = Record<string, unknown>;

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** Reads one submitted form, collecting the problems that parsing itself finds. */
export class FormReader {
  readonly problems: FieldProblem[] = [];
  private readonly body: Body;

  constructor(body: unknown) {
    this.body = body && typeof body === 'object' ? (body as Body) : {};
  }

  /** The raw string, or undefined when absent; a repeated field is a problem. */
  raw(name: string): string | undefined {
    const value = this.body[name];
    if (value === undefined || typeof value === 'string') return value;
    this.problems.push({ field: name, message: 'must be sent once' });
    return undefined;
  }

  /** Text as typed (the schema trims and cleans it); absent becomes ''. */
  text(name: string): string {
    return this.raw(name) ?? '';
  }

  /** Text, or undefined when left blank. */
  optional(name: string): string | undefined {
    const value = this.raw(name);
    return value === undefined || value.trim() === '' ? undefined : value;
  }

  /** A finite decimal number, or undefined when blank; anything else is a problem on `field`. */
  number(name: string, field = name): number | undefined {
    const value = this.optional(name)?.trim();
    if (value === undefined) return undefined;
    const parsed = DECIMAL.test(value) ? Number(value) : NaN;
    if (!Number.isFinite(parsed)) {
      this.problems.push({ field, message: 'must be a number such as 0.7 or 1500' });
      return undefined;
    }
    return parsed;
  }

  /** A checkbox: present and not "0" means on. */
  checkbox(name: string): boolean {
    const value = this.raw(name);
    return value !== undefined && value !== '0' && value !== 'false';
  }

  /** Every value of a field that may repeat (checkboxes sharing one name); anything but text is dropped. */
  all(name: string): string[] {
    const value = this.body[name];
    if (typeof value === 'string') return [value];
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  }

  /** How many rows a form posted as `prefix.<i>.<field>` names (the highest index + 1), at most `max`. */
  rowCount(prefix: string, max: number): number {
    const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d{1,3})\\.`);
    let count = 0;
    for (const name of Object.keys(this.body)) {
      const index = pattern.exec(name)?.[1];
      if (index !== undefined) count = Math.max(count, Number(index) + 1);
    }
    return Math.min(count, max);
  }

  /** One entry per line or comma, blanks dropped. */
  list(name: string): string[] {
    return this.text(name)
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** The typed values checked against an API schema; this reader's problems and the schema's are reported together. */
  parse<T extends z.ZodType>(schema: T, values: Record<string, unknown>): z.infer<T> {
    const result = schema.safeParse(values);
    const problems = [...this.problems];
    if (!result.success) {
      for (const issue of result.error.issues) {
        const field = issue.path.length ? issue.path.join('.') : 'body';
        if (!problems.some((p) => p.field === field)) problems.push({ field, message: issue.message });
      }
    }
    if (problems.length) throw validationFailed(problems);
    return (result as { data: z.infer<T> }).data;
  }

  /** Every submitted value to show again after a failed save, except the session and secrets. */
  echo(...secretFields: string[]): Record<string, string> {
    const hidden = new Set(['ltik', ...secretFields]);
    const values: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.body)) {
      if (!hidden.has(name) && typeof value === 'string') values[name] = value;
    }
    return values;
  }
}

export interface FormFailure {
  status: number;
  /** Message per input name ("params.temperature" → "temperature"). */
  errors: Record<string, string>;
  /** Every problem as a sentence, for the summary at the top of the form. */
  summary: string[];
}

/** The input a command's field name belongs to: nested names end on the input's own name. */
export function inputNameOf(field: string): string {
  return field.replace(/^(params|defaultParams)\./, '').replace(/\.\d+$/, '');
}

/** "is required" on "Label" → "Label is required."; a full sentence stays as it is. */
export function sentence(label: string, message: string): string {
  const text = /^[a-z]/.test(message) ? `${label} ${message}` : message;
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * A refusal the form can show beside its fields (400 validation, 409 conflict), or null for
 * anything else (403, 404, 500), which the error page handles.
 */
export function formFailure(err: unknown, labels: Record<string, string>): FormFailure | null {
  if (!(err instanceof HttpError) || (err.status !== 400 && err.status !== 409)) return null;
  const errors: Record<string, string> = {};
  const summary: string[] = [];
  for (const problem of err.fields ?? []) {
    const name = inputNameOf(problem.field);
    const label = labels[name] ?? 'This form';
    const text = sentence(label, problem.message);
    if (labels[name] && !errors[name]) errors[name] = text;
    summary.push(text);
  }
  if (!summary.length) summary.push(err.message);
  return { status: err.status, errors, summary };
}
