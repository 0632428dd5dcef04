import { Request, Response, Router } from 'express';
import { addCatalogueModel, CatalogueModelChanges, findCatalogueEntry, listCatalogue, updateCatalogueModel } from '../../commands/catalogue';
import { getSession } from '../../lti/session';
import type { CatalogueModel } from '../../models';
import { asyncHandler } from '../asyncHandler';
import { modelCreateSchema, modelUpdateSchema } from '../api/schemas';
import type { Area } from './area';
import { FormReader, formFailure } from './forms';
import { noticeFrom, redirectTo, renderFailedForm, renderPage } from './view';
import { kindOptions, modelRow, modelsByKind } from './viewModels';

// The deployment's model catalogue (admins): limits and prices per provider, hide and unhide,
// price overrides (blank returns to the catalogue price) and models the data file lacks.

const LABELS: Record<string, string> = {
  providerKind: 'Provider',
  model: 'Model id',
  displayName: 'Display name',
  contextWindow: 'Context window',
  maxOutput: 'Max output',
  inputPricePerMTok: 'Input price',
  outputPricePerMTok: 'Output price',
};

const NOTICES = {
  added: 'The model was added to the catalogue.',
  priced: 'The price was saved.',
  hidden: 'The model is hidden: instructors no longer see it and new instances cannot use it.',
  shown: 'The model is shown again.',
};

const LIST = '/admin/catalogue';
const SECTION = 'catalogue';

/** A blank price field is null ("unknown", or "back to the catalogue price" for an override). */
const priceOf = (form: FormReader, name: string) => form.optional(name)?.trim() ?? null;

const entryOf = (req: Request, res: Response): Promise<CatalogueModel> => findCatalogueEntry(getSession(res), req.params.id);

/** Applies changes the way the API does: through the command, with one audit line. */
async function change(res: Response, entry: CatalogueModel, changes: CatalogueModelChanges): Promise<void> {
  await updateCatalogueModel(getSession(res), entry, changes);
}

export function cataloguePages(admin: Area): Router {
  const router = Router();

  router.get(LIST, ...admin.page, asyncHandler(async (req, res) => {
    const rows = (await listCatalogue(getSession(res).deployment.id, { includeHidden: true })).map(modelRow);
    renderPage(res, 'admin/catalogue', 'Model catalogue', SECTION, { groups: modelsByKind(rows), notice: noticeFrom(req, NOTICES) });
  }));

  router.get(`${LIST}/new`, ...admin.page, (_req, res) => {
    renderPage(res, 'admin/catalogue-new', 'Add a model', SECTION, { kinds: kindOptions(), values: {} });
  });

  router.post(LIST, ...admin.post, asyncHandler(async (req, res) => {
    const session = getSession(res);
    const form = new FormReader(req.body);
    try {
      const input = form.parse(modelCreateSchema, {
        providerKind: form.text('providerKind'),
        model: form.text('model'),
        displayName: form.text('displayName'),
        contextWindow: form.number('contextWindow') ?? null,
        maxOutput: form.number('maxOutput') ?? null,
        inputPricePerMTok: priceOf(form, 'inputPricePerMTok'),
        outputPricePerMTok: priceOf(form, 'outputPricePerMTok'),
      });
      await addCatalogueModel(session, input);
    } catch (err) {
      const failure = formFailure(err, LABELS);
      if (!failure) throw err;
      const values = form.echo();
      return renderFailedForm(res, 'admin/catalogue-new', 'Add a model', SECTION, failure, { kinds: kindOptions(values.providerKind), values });
    }
    redirectTo(res, LIST, 'added');
  }));

  router.get(`${LIST}/:id/price`, ...admin.page, asyncHandler(async (req, res) => {
    const model = modelRow(await entryOf(req, res));
    renderPage(res, 'admin/catalogue-price', `Price of ${model.displayName}`, SECTION, { model, values: { inputPricePerMTok: model.overrideInput, outputPricePerMTok: model.overrideOutput } });
  }));

  router.post(`${LIST}/:id/price`, ...admin.post, asyncHandler(async (req, res) => {
    const entry = await entryOf(req, res);
    const form = new FormReader(req.body);
    try {
      const changes = form.parse(modelUpdateSchema, { inputPricePerMTok: priceOf(form, 'inputPricePerMTok'), outputPricePerMTok: priceOf(form, 'outputPricePerMTok') });
      await change(res, entry, changes);
    } catch (err) {
      const failure = formFailure(err, LABELS);
      if (!failure) throw err;
      return renderFailedForm(res, 'admin/catalogue-price', `Price of ${entry.displayName}`, SECTION, failure, { model: modelRow(entry), values: form.echo() });
    }
    redirectTo(res, LIST, 'priced');
  }));

  for (const [action, hidden] of [['hide', true], ['unhide', false]] as const) {
    router.post(`${LIST}/:id/${action}`, ...admin.post, asyncHandler(async (req, res) => {
      await change(res, await entryOf(req, res), { hidden });
      redirectTo(res, LIST, hidden ? 'hidden' : 'shown');
    }));
  }
  return router;
}
