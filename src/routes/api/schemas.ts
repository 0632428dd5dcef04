import { z } from 'zod';
import { optionalText, text } from '../../commands/validation';
import { isProviderKind } from '../../providers/registry';
import type { ProviderKind } from '../../providers/types';

// Request bodies of the configuration API. Unknown keys are dropped by zod (no mass assignment of
// tenant, owner, system flag or ciphertext). Ranges that depend on the provider or model are checked
// by the commands.

const kind = z.custom<ProviderKind>((v) => isProviderKind(v), { message: 'must be one of openai, anthropic, huggingface, openai_compatible' });
const scope = z.enum(['system', 'instructor'], { error: 'must be system or instructor' });
// Keys are checked per provider by the command; here only that it is text, without trimming it.
const apiKey = z.string({ error: 'must be text' }).min(1, 'is required').max(4096, 'is too long');
const url = optionalText(1024);
const finite = (field: string) => z.number({ error: `${field} must be a number` });

export const providerCreateSchema = z.object({
  kind,
  label: text(200),
  apiKey,
  baseUrl: url,
  organization: optionalText(200),
  project: optionalText(200),
  scope: scope.default('instructor'),
});

export const providerUpdateSchema = z.object({
  label: text(200).optional(),
  apiKey: apiKey.optional(),
  baseUrl: url,
  organization: optionalText(200),
  project: optionalText(200),
  disabled: z.boolean({ error: 'must be true or false' }).optional(),
});

export const paramsSchema = z
  .object({
    temperature: finite('temperature').optional(),
    topP: finite('topP').optional(),
    maxTokens: finite('maxTokens').int('must be a whole number').min(1, 'must be at least 1').optional(),
    contextSize: finite('contextSize').int('must be a whole number').min(1, 'must be at least 1').optional(),
    systemPrompt: optionalText(4000),
  })
  .default({});

export const instanceCreateSchema = z.object({
  name: text(200),
  providerId: z.string({ error: 'is required' }),
  model: text(200),
  params: paramsSchema,
  scope: scope.default('instructor'),
  isDefault: z.boolean({ error: 'must be true or false' }).optional(),
});

export const instanceUpdateSchema = z.object({
  name: text(200).optional(),
  providerId: z.string().optional(),
  model: text(200).optional(),
  params: paramsSchema.optional(),
  isDefault: z.boolean({ error: 'must be true or false' }).optional(),
});

const priceDollars = z
  .string({ error: 'must be a price such as "2.50"' })
  .regex(/^\d{1,7}(\.\d{1,6})?$/, 'must be a price such as "2.50"')
  .nullable();

export const modelCreateSchema = z.object({
  providerKind: kind,
  model: text(200),
  displayName: text(200),
  contextWindow: finite('contextWindow').int().min(1).max(100_000_000).nullable().default(null),
  maxOutput: finite('maxOutput').int().min(1).max(10_000_000).nullable().default(null),
  inputPricePerMTok: priceDollars.default(null),
  outputPricePerMTok: priceDollars.default(null),
});

export const modelUpdateSchema = z.object({
  displayName: text(200).optional(),
  hidden: z.boolean({ error: 'must be true or false' }).optional(),
  contextWindow: finite('contextWindow').int().min(1).max(100_000_000).nullable().optional(),
  maxOutput: finite('maxOutput').int().min(1).max(10_000_000).nullable().optional(),
  /** An override of the catalogue price; null returns to the catalogue price. */
  inputPricePerMTok: priceDollars.optional(),
  outputPricePerMTok: priceDollars.optional(),
});

export const settingsSchema = z.object({
  allowInstructorSystemConnections: z.boolean({ error: 'must be true or false' }).optional(),
  defaultParams: z
    .object({
      temperature: finite('temperature').min(0, 'must be at least 0').max(2, 'must be at most 2').optional(),
      topP: finite('topP').min(0, 'must be at least 0').max(1, 'must be at most 1').optional(),
      maxTokens: finite('maxTokens').int('must be a whole number').min(1, 'must be at least 1').max(128000, 'must be at most 128000').optional(),
    })
    .optional(),
  allowedLocalHosts: z.array(z.string().regex(/^[a-z0-9.-]{1,253}$/i, 'must be a host name'), { error: 'must be a list of host names' }).max(20).optional(),
  retention: z
    .discriminatedUnion('mode', [
      z.object({ mode: z.literal('days_after_release'), days: finite('days').int('must be a whole number').min(1, 'must be at least 1').max(3650, 'must be at most 3650') }),
      z.object({ mode: z.literal('until_release') }),
    ], { error: 'mode must be days_after_release (with days) or until_release' })
    .optional(),
  /** null or empty returns to the built-in notice. */
  dataNotice: z.string({ error: 'must be text' }).max(4000, 'must be at most 4000 characters').nullable().optional(),
});
