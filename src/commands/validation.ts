import { z } from 'zod';
import { FieldProblem, validationFailed } from '../errors';

// Request bodies are parsed by zod: unknown keys are dropped (no mass assignment), every problem is
// reported with the field it concerns, and text is cleaned of what PostgreSQL cannot store.

/** Removes NUL and lone surrogates (PostgreSQL rejects both) and trims. */
export function cleanText(value: string): string {
  return value.replace(/\u0000/g, '').toWellFormed().trim();
}

export const text = (max: number) =>
  z
    .string({ error: 'must be text' })
    .transform(cleanText)
    .pipe(z.string().min(1, 'is required').max(max, `must be at most ${max} characters`));

export const optionalText = (max: number) =>
  z
    .string({ error: 'must be text' })
    .transform(cleanText)
    .pipe(z.string().max(max, `must be at most ${max} characters`))
    .optional();

/** Parses or throws a 400 naming each field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const fields: FieldProblem[] = result.error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.join('.') : 'body',
    message: issue.message,
  }));
  throw validationFailed(fields);
}

export function fieldError(field: string, message: string) {
  return validationFailed([{ field, message }]);
}
