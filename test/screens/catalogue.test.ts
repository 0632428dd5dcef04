import { CatalogueModel, Deployment } from '../../src/models';
import { LtiHarness, startLtiHarness } from '../support/lti';
import { Actor, addConnection, follow, getPage, inputTag, launchAs, postForm, rowContaining, uniqueLabel } from './screens';

// The admin's model catalogue: prices per 1M tokens, "price unknown" when there is none,
// "overridden" when the admin's price applies, hide/unhide, and admin-added models.

describe('admin catalogue screen', () => {
  let h: LtiHarness;
  let admin: Actor;

  beforeAll(async () => {
    h = await startLtiHarness({ flavour: 'moodle' });
    admin = await launchAs(h, 'moodle-admin');
  });
  afterAll(() => h.close());

  /** This deployment's catalogue entry (other test files' deployments share a PostgreSQL database). */
  const entryOf = async (model: string) => {
    await getPage(h, '/admin/catalogue', admin); // seeds the deployment's catalogue
    const deployment = await Deployment.findOne({ where: { deploymentId: h.deploymentId } });
    const entry = await CatalogueModel.findOne({ where: { deploymentId: deployment!.id, providerKind: 'openai', model } });
    if (!entry) throw new Error(`${model} is not in the catalogue`);
    return entry;
  };
  const modelRow = async (model: string) => rowContaining((await getPage(h, '/admin/catalogue', admin)).text, `<code>${model}</code>`);

  test('a model without a price shows "price unknown"; one with a price shows it per 1M tokens', async () => {
    const page = await getPage(h, '/admin/catalogue', admin);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Hugging Face');
    const llama = rowContaining(page.text, '<code>meta-llama/Llama-3.3-70B-Instruct</code>');
    expect(llama).toContain('price unknown');
    const gpt4o = rowContaining(page.text, '<code>gpt-4o</code>');
    expect(gpt4o).toContain('$2.50');
    expect(gpt4o).toContain('$10.00');
    expect(gpt4o).toContain('128,000');
    expect(gpt4o).not.toContain('price unknown');
    expect(gpt4o).not.toContain('overridden');
  });

  test('an admin override changes the shown price and is marked "overridden"; blank returns to the catalogue price', async () => {
    const entry = await entryOf('gpt-4o');
    const form = await getPage(h, `/admin/catalogue/${entry.id}/price`, admin);
    expect(form.status).toBe(200);
    expect(form.text).toContain('Leave a field blank to go back to the catalogue price');

    const saved = await postForm(h, `/admin/catalogue/${entry.id}/price`, admin, { inputPricePerMTok: '3.10', outputPricePerMTok: '' });
    expect(saved.status).toBe(303);
    expect(await follow(h, saved.headers.location)).toContain('The price was saved');
    const overridden = await modelRow('gpt-4o');
    expect(overridden).toContain('$3.10');
    expect(overridden).toContain('$10.00');
    expect(overridden).toContain('overridden');

    await postForm(h, `/admin/catalogue/${entry.id}/price`, admin, { inputPricePerMTok: '', outputPricePerMTok: '' });
    const restored = await modelRow('gpt-4o');
    expect(restored).toContain('$2.50');
    expect(restored).not.toContain('overridden');
  });

  test('a malformed price is refused beside its field and nothing changes', async () => {
    const entry = await entryOf('gpt-4o-mini');
    const refused = await postForm(h, `/admin/catalogue/${entry.id}/price`, admin, { inputPricePerMTok: '0.7abc', outputPricePerMTok: '0.60' });
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/id="f-inputPricePerMTok-error"[^>]*>.*Input price must be a price such as/);
    expect(inputTag(refused.text, 'inputPricePerMTok')).toContain('value="0.7abc"');
    await entry.reload();
    expect(entry.inputPriceOverrideMicros).toBeNull();
  });

  test('hide and unhide: a hidden model is marked and instructors no longer see it', async () => {
    const entry = await entryOf('gpt-4.1-nano');
    const teacher = await launchAs(h, 'moodle-teacher');
    const { provider } = await addConnection(h, '/instructor', teacher);
    const modelChoices = async () => (await getPage(h, '/instructor/instances/new', teacher).query({ providerId: provider.id })).text;
    expect(await modelChoices()).toContain('value="gpt-4.1-nano"');

    const hidden = await postForm(h, `/admin/catalogue/${entry.id}/hide`, admin);
    expect(hidden.status).toBe(303);
    const row = await modelRow('gpt-4.1-nano');
    expect(row).toContain('>Hidden<');
    expect(row).toContain('Unhide');
    expect(await modelChoices()).not.toContain('value="gpt-4.1-nano"');
    await postForm(h, `/admin/catalogue/${entry.id}/unhide`, admin);
    expect(await modelRow('gpt-4.1-nano')).not.toContain('>Hidden<');
  });

  test('an admin adds a model; without a price it shows "price unknown"; bad numbers are refused per field', async () => {
    const model = `custom-${uniqueLabel('m').replace(/\s/g, '-')}`;
    const refused = await postForm(h, '/admin/catalogue', admin, { providerKind: 'openai', model, displayName: 'Custom', contextWindow: '1e309', maxOutput: 'Infinity' });
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/id="f-contextWindow-error"[^>]*>.*Context window must be a number/);
    expect(refused.text).toMatch(/id="f-maxOutput-error"[^>]*>.*Max output must be a number/);
    expect(inputTag(refused.text, 'model')).toContain(`value="${model}"`);

    const added = await postForm(h, '/admin/catalogue', admin, { providerKind: 'openai', model, displayName: 'Custom model', contextWindow: '64000', maxOutput: '', inputPricePerMTok: '', outputPricePerMTok: '' });
    expect(added.status).toBe(303);
    const row = await modelRow(model);
    expect(row).toContain('Custom model');
    expect(row).toContain('64,000');
    expect(row).toContain('price unknown');
    expect(row).toContain('Added by an admin');

    const duplicate = await postForm(h, '/admin/catalogue', admin, { providerKind: 'openai', model, displayName: 'Again' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.text).toContain('already in the catalogue');
  });
});
