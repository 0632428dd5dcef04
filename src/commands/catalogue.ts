import fs from 'node:fs';
import path from 'node:path';
import { conflict, notFound } from '../errors';
import type { LaunchSession } from '../lti/session';
import { requireId } from '../policies/ownership';
import { recordAudit } from './audit';
import { CatalogueModel, Deployment } from '../models';
import { PROJECT_ROOT } from '../paths';

// The model catalogue: a dated data file seeds each deployment; admins add, hide and re-price.

interface CatalogueEntry {
  kind: string;
  model: string;
  displayName: string;
  contextWindow: number | null;
  maxOutput: number | null;
  inputPerMTok: string | null;
  outputPerMTok: string | null;
}

interface CatalogueFile {
  date: string;
  models: CatalogueEntry[];
}

let cached: CatalogueFile | undefined;
export function catalogueFile(): CatalogueFile {
  cached ??= JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'catalogue', 'models.json'), 'utf8')) as CatalogueFile;
  return cached;
}

/** "2.50" dollars per 1M tokens → 2500000 micro-dollars; exact, no float arithmetic. */
export function dollarsToMicros(dollars: string): number {
  const match = /^(\d{1,7})(?:\.(\d{1,6}))?$/.exec(dollars.trim());
  if (!match) throw new Error(`not a price: ${dollars}`);
  return Number(match[1]) * 1_000_000 + Number((match[2] ?? '').padEnd(6, '0'));
}

/** 2500000 → "2.50" (at least two decimals, no trailing noise). */
export function microsToDollars(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  const frac = String(micros % 1_000_000).padStart(6, '0').replace(/0+$/, '');
  return `${whole}.${frac.padEnd(2, '0')}`;
}

/** Brings a deployment's catalogue up to the data file: adds missing models, refreshes catalogue prices; admin overrides, hidden flags and admin-added models are kept. */
export async function ensureCatalogue(deployment: Pick<Deployment, 'id'>): Promise<void> {
  const file = catalogueFile();
  const current = await CatalogueModel.count({ where: { deploymentId: deployment.id, priceDate: file.date, source: 'catalogue' } });
  if (current >= file.models.length) return;
  for (const m of file.models) {
    const values = {
      displayName: m.displayName,
      contextWindow: m.contextWindow,
      maxOutput: m.maxOutput,
      inputPriceMicros: m.inputPerMTok === null ? null : dollarsToMicros(m.inputPerMTok),
      outputPriceMicros: m.outputPerMTok === null ? null : dollarsToMicros(m.outputPerMTok),
      priceDate: file.date,
    };
    const existing = await findCatalogueModel(deployment.id, m.kind, m.model);
    if (existing) {
      if (existing.source === 'catalogue' && existing.priceDate !== file.date) await existing.update(values);
      continue;
    }
    await CatalogueModel.create({ deploymentId: deployment.id, providerKind: m.kind, model: m.model, source: 'catalogue', ...values }).catch((err: Error) => {
      // A concurrent request seeded it first.
      if (err.name !== 'SequelizeUniqueConstraintError') throw err;
    });
  }
}

/** The catalogue entry for (kind, model) in this deployment, hidden ones included. */
export async function findCatalogueModel(deploymentId: string, providerKind: string, model: string): Promise<CatalogueModel | null> {
  return CatalogueModel.findOne({ where: { deploymentId, providerKind, model } });
}

export interface CatalogueModelInput {
  providerKind: string;
  model: string;
  displayName: string;
  contextWindow: number | null;
  maxOutput: number | null;
  inputPricePerMTok: string | null;
  outputPricePerMTok: string | null;
}

/** Lists a deployment's catalogue; hidden models only for admins. */
export async function listCatalogue(deploymentId: string, opts: { includeHidden: boolean }): Promise<CatalogueModel[]> {
  await ensureCatalogue({ id: deploymentId });
  return CatalogueModel.findAll({
    where: opts.includeHidden ? { deploymentId } : { deploymentId, hidden: false },
    order: [['providerKind', 'ASC'], ['displayName', 'ASC']],
  });
}

/** A catalogue entry of this session's deployment, or 404. */
export async function findCatalogueEntry(session: LaunchSession, id: unknown): Promise<CatalogueModel> {
  const entry = await CatalogueModel.findOne({ where: { id: requireId(id), deploymentId: session.deployment.id } });
  if (!entry) throw notFound('No such model.');
  return entry;
}

/** Adds a model an admin wants that the data file lacks (409 if it exists); audited. */
export async function addCatalogueModel(session: LaunchSession, input: CatalogueModelInput): Promise<CatalogueModel> {
  const deploymentId = session.deployment.id;
  await ensureCatalogue({ id: deploymentId });
  if (await findCatalogueModel(deploymentId, input.providerKind, input.model)) throw conflict(`${input.model} is already in the catalogue.`);
  return CatalogueModel.create({
    deploymentId,
    providerKind: input.providerKind,
    model: input.model,
    displayName: input.displayName,
    contextWindow: input.contextWindow,
    maxOutput: input.maxOutput,
    inputPriceMicros: input.inputPricePerMTok === null ? null : dollarsToMicros(input.inputPricePerMTok),
    outputPriceMicros: input.outputPricePerMTok === null ? null : dollarsToMicros(input.outputPricePerMTok),
    priceDate: new Date().toISOString().slice(0, 10),
    source: 'admin',
  }).then(async (entry) => {
    await recordAudit(session, { action: 'model.create', targetType: 'model', targetId: entry.id, details: { model: entry.model, kind: entry.providerKind } });
    return entry;
  });
}

export interface CatalogueModelChanges {
  displayName?: string;
  hidden?: boolean;
  contextWindow?: number | null;
  maxOutput?: number | null;
  inputPricePerMTok?: string | null;
  outputPricePerMTok?: string | null;
}

/** Hides/unhides, renames, or overrides prices (null returns to the catalogue price); audited. */
export async function updateCatalogueModel(session: LaunchSession, entry: CatalogueModel, changes: CatalogueModelChanges): Promise<CatalogueModel> {
  const toMicros = (v: string | null | undefined) => (v === undefined ? undefined : v === null ? null : dollarsToMicros(v));
  const admin = entry.source === 'admin';
  const input = toMicros(changes.inputPricePerMTok);
  const output = toMicros(changes.outputPricePerMTok);
  await entry.update({
    ...(changes.displayName !== undefined ? { displayName: changes.displayName } : {}),
    ...(changes.hidden !== undefined ? { hidden: changes.hidden } : {}),
    ...(changes.contextWindow !== undefined ? { contextWindow: changes.contextWindow } : {}),
    ...(changes.maxOutput !== undefined ? { maxOutput: changes.maxOutput } : {}),
    // Admin-added models carry their own price; catalogue models get an override beside theirs.
    ...(input !== undefined ? (admin ? { inputPriceMicros: input } : { inputPriceOverrideMicros: input }) : {}),
    ...(output !== undefined ? (admin ? { outputPriceMicros: output } : { outputPriceOverrideMicros: output }) : {}),
  });
  await recordAudit(session, { action: 'model.update', targetType: 'model', targetId: entry.id, details: { model: entry.model, changed: Object.keys(changes) } });
  return entry;
}
