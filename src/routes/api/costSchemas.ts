import { z } from 'zod';

// Bodies and queries of the budgets, usage and estimate API.

const MAX_LIMIT_MICROS = 10_000_000_000_000; // $10 million

const limitMicros = z
  .number({ error: 'must be a whole number of micro-dollars, or null to remove the budget' })
  .int('must be a whole number of micro-dollars')
  .min(0, 'must be 0 or more')
  .max(MAX_LIMIT_MICROS, 'must be at most 10000000000000 ($10 million)')
  .nullable();

const period = z.enum(['month', 'total'], { error: 'must be month or total' });

export const budgetSchema = z.object({
  scope: z.enum(['deployment', 'connection', 'instructor', 'assignment'], { error: 'must be deployment, connection, instructor or assignment' }),
  scopeId: z.string().nullable().optional(),
  period: period.default('month'),
  limitMicros,
  forbidUnpriced: z.boolean({ error: 'must be true or false' }).optional(),
});

export const assignmentBudgetSchema = z.object({
  period: period.default('total'),
  limitMicros,
});

export const usageQuerySchema = z.object({
  period: z.string().regex(/^(\d{4}-(0[1-9]|1[0-2])|all)$/, 'must be a month such as 2026-11, or all').optional(),
  connection: z.string().optional(),
  instructor: z.string().optional(),
  assignment: z.string().optional(),
});
