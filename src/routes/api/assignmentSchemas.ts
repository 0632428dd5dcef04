import { z } from 'zod';
import { optionalText, text } from '../../commands/validation';

// Bodies of the assignment, submission and review API.

const criterion = z.object({
  id: z.string({ error: 'is required' }).regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1-40 letters, digits, - or _'),
  name: text(200),
  description: text(2000),
  weight: z.number({ error: 'must be a number' }).gt(0, 'must be more than 0').max(100, 'must be at most 100'),
  maxScore: z.number({ error: 'must be a number' }).gt(0, 'must be more than 0').max(1000, 'must be at most 1000'),
  levels: z
    .array(z.object({ score: z.number({ error: 'must be a number' }).min(0), description: text(1000) }))
    .max(10, 'at most 10 levels')
    .optional(),
});

const modelChoice = z.object({
  instanceId: z.string({ error: 'is required' }),
  runs: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be between 1 and 10').max(10, 'must be between 1 and 10'),
  weight: z.number({ error: 'must be a number' }).gt(0, 'must be more than 0').max(100, 'must be at most 100').default(1),
});

export const assignmentSchema = z.object({
  title: text(200),
  instructions: text(20000),
  rubric: z.array(criterion, { error: 'must be a list of criteria' }).min(1, 'needs at least one criterion').max(20, 'at most 20 criteria'),
  models: z.array(modelChoice, { error: 'must be a list of model choices' }).min(1, 'choose at least one model instance').max(10, 'at most 10 model instances'),
  aggregation: z.enum(['mean', 'median', 'trimmed_mean', 'weighted'], { error: 'must be mean, median, trimmed_mean or weighted' }).default('mean'),
  quorum: z.number({ error: 'must be a number' }).int().min(1, 'must be at least 1').nullable().optional(),
  releaseMode: z.enum(['review', 'auto'], { error: 'must be review or auto' }).default('review'),
  maxDrafts: z.number({ error: 'must be a number' }).int().min(1, 'must be between 1 and 20').max(20, 'must be between 1 and 20').default(3),
  maxChars: z.number({ error: 'must be a number' }).int().min(100, 'must be at least 100').max(200000, 'must be at most 200000').default(50000),
  gradePassback: z.boolean({ error: 'must be true or false' }).default(false),
  // The class size for the cost estimate when the LMS does not share its roster (NRPS).
  expectedStudents: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be between 1 and 100000').max(100000, 'must be between 1 and 100000').nullable().optional(),
});

export const assignmentUpdateSchema = assignmentSchema.partial();

export const submissionSchema = z.object({
  // Length is checked against the assignment's own limit, with a clear message, by the command.
  text: z.string({ error: 'is required' }).max(1_000_000, 'is too long'),
});

export const reviewSchema = z.object({
  summary: optionalText(5000),
  criteria: z
    .array(z.object({ criterionId: z.string(), score: z.number({ error: 'must be a number' }).optional(), comment: optionalText(4000) }))
    .max(20)
    .optional(),
  release: z.boolean().default(false),
});

export const bulkReleaseSchema = z.object({
  submissionIds: z.array(z.string()).min(1, 'choose at least one submission').max(500),
});
