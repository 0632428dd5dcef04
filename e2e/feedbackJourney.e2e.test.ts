/// <reference lib="dom" />
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Frame, FrameLocator, Page } from 'playwright-core';
import { startDemoStack, type DemoStack } from '../demo/stack';
import { PEOPLE } from '../demo/lms/course';
import { launchBrowser, type Browser } from './support/browser';
import { checkScreen, RESULTS_DIR, toolFrame } from './support/screens';

// The whole journey in a real browser, as people make it: the demo LMS page (127.0.0.1) launches
// FeedForward (localhost) into an iframe, so every launch is cross-site: the state cookie must
// survive as a partitioned SameSite=None cookie, and frame-ancestors must allow the LMS. Each step
// checks its screens with axe-core and saves screenshots at 700 and 1200 px (test-results/e2e/).

const MOCK_KEY = 'mock-key-e2e-7Q4z';
const TITLE = 'Essay: should schools set homework?';
const ESSAY = 'Homework builds habits that last.\nIt also builds stress, and stress does not help anyone learn.';
const KEY_HINT = '7Q4z';

describe('the feedback journey in Chromium, inside the demo LMS', { timeout: 600000 }, () => {
  let stack: DemoStack;
  let browser: Browser;
  let page: Page;
  let tool: FrameLocator;
  const logFile = path.join(RESULTS_DIR, 'tool.log');
  let dataDir: string;
  /** Every URL the browser asked for: all must be the LMS's or the tool's (no CDN, no third party). */
  const requested: string[] = [];

  before(async () => {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    fs.mkdirSync(path.join(__dirname, '..', '.tmp'), { recursive: true });
    dataDir = fs.mkdtempSync(path.join(__dirname, '..', '.tmp', 'e2e-'));
    const log = fs.createWriteStream(logFile);
    // The worker starts once the student has seen their draft waiting (step 3): no timing in tests.
    stack = await startDemoStack({ dataDir, mockLatencyMs: 50, runWorker: false, logLevel: 'info', logDestination: log });
    browser = await launchBrowser();
    browser.context.on('request', (request) => requested.push(request.url()));
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    tool = page.frameLocator('#tool-frame');
  });

  after(async () => {
    await browser?.close();
    await stack?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** Opens the LMS course page and clicks one of its launch buttons; resolves with the tool's frame. */
  async function launch(button: string | RegExp): Promise<Frame> {
    await page.goto(stack.lmsUrl);
    await page.getByRole('button', { name: button }).click();
    return toolFrame(page);
  }

  /** Follows a link of the tool's configuration navigation. */
  async function nav(name: string): Promise<void> {
    const link = tool.getByRole('navigation', { name: 'Configuration' }).getByRole('link', { name, exact: true });
    await link.click();
  }

  /** Waits until the tool's frame shows `text` (as a person reads it). */
  async function sees(text: string | RegExp): Promise<void> {
    await tool.getByText(text).first().waitFor();
  }

  test('1. the admin adds a system connection to the mock provider, tests it, and adds two instances, one default', async () => {
    let frame = await launch(`Open FeedForward as ${PEOPLE.admin.name} (administrator)`);
    await sees('Deployment settings');
    await checkScreen(page, 'admin-home', { frame });
    // Keyboard focus is visible: a focused link has a solid outline of at least 2 px.
    const link = tool.getByRole('navigation', { name: 'Configuration' }).getByRole('link', { name: 'Connections', exact: true });
    await link.focus();
    const outline = await link.evaluate((el) => { const style = getComputedStyle(el); return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) }; });
    assert.equal(outline.style, 'solid');
    assert.ok(outline.width >= 2, `focus outline is ${outline.width} px`);

    await nav('Connections');
    await tool.getByRole('link', { name: 'Add a connection' }).click();
    await sees('API key');
    await tool.getByLabel('Provider').selectOption({ value: 'openai_compatible' });
    await tool.getByLabel('Label').fill('Mock LLM');
    await tool.getByLabel('API key').fill(MOCK_KEY);
    // A validation message first: an OpenAI-compatible endpoint needs its base URL.
    await tool.getByRole('button', { name: 'Save connection' }).click();
    await tool.locator('.field-invalid').first().waitFor();
    frame = await toolFrame(page);
    await checkScreen(page, 'connection-form-invalid', { frame });
    const problems = await tool.locator('.field-invalid').allInnerTexts();
    assert.match(problems.join(' '), /base URL/i);
    // The key typed before is never sent back into the page.
    assert.ok(!(await frame.content()).includes(MOCK_KEY), 'the API key is in the page');

    await tool.getByLabel('API key').fill(MOCK_KEY);
    await tool.getByLabel('Base URL (optional)').fill(stack.mockLlmUrl);
    await tool.getByLabel(/^System/).check();
    await tool.getByRole('button', { name: 'Save connection' }).click();
    await sees('Mock LLM');
    const row = tool.getByRole('row').filter({ hasText: 'Mock LLM' });
    assert.match(await row.innerText(), /System/);
    assert.match(await row.innerText(), new RegExp(KEY_HINT));
    await row.getByRole('button', { name: /Test connection/ }).click();
    await sees(/Tested “Mock LLM”/);
    assert.match(await tool.getByRole('status').first().innerText(), /Valid/);
    frame = await toolFrame(page);
    assert.ok(!(await frame.content()).includes(MOCK_KEY), 'the API key is in the page');
    await checkScreen(page, 'connections', { frame, docs: 'admin-connections' });

    for (const [name, isDefault] of [['Mock careful marker', true], ['Mock quick marker', false]] as const) {
      await nav('Model instances');
      await tool.getByRole('link', { name: 'Add an instance' }).click();
      await tool.getByRole('button', { name: 'Next: choose the model' }).click();
      await tool.getByLabel('Name').fill(name);
      const model = tool.getByLabel('Model', { exact: true });
      if ((await model.evaluate((el) => el.tagName)) === 'SELECT') await model.selectOption({ index: 0 });
      else await model.fill('mock-gpt');
      if (isDefault) await tool.getByLabel(/^Default/).check();
      await tool.getByRole('button', { name: 'Save instance' }).click();
      await tool.getByRole('row').filter({ hasText: name }).waitFor();
    }
    const defaultRow = tool.getByRole('row').filter({ hasText: 'Mock careful marker' });
    assert.match(await defaultRow.innerText(), /Default/);
    assert.match(await defaultRow.innerText(), /System/);
    frame = await toolFrame(page);
    await checkScreen(page, 'instances', { frame });
  });
  test('2. the instructor adds an assignment by deep linking: a rubric, two instances × two runs, review before release', async (t) => {
    let frame = await launch(`Add assignment (deep linking) as ${PEOPLE.instructor.name}`);
    await sees('Add FeedForward to your course');
    const form = tool.locator('form.form');
    // A validation message first: a rubric needs a criterion.
    await tool.getByLabel('Instructions').fill('Argue for or against homework in about 300 words.');
    await form.getByRole('button', { name: 'Create and add to the course' }).last().click();
    assert.match(await tool.locator('#f-rubric-error').innerText(), /at least one criterion/);
    frame = await toolFrame(page);
    await checkScreen(page, 'assignment-form-invalid', { frame });

    await tool.getByLabel('Title').fill(TITLE);
    await tool.locator('#f-rubric-0-name').fill('Content');
    await tool.locator('#f-rubric-0-description').fill('A clear thesis, supported by reasons.');
    await tool.locator('#f-rubric-0-weight').fill('2');
    await tool.locator('#f-rubric-0-maxScore').fill('5');
    await tool.locator('#f-rubric-1-name').fill('Style');
    await tool.locator('#f-rubric-1-description').fill('Readable, well-organised prose.');
    await tool.locator('#f-rubric-1-weight').fill('1');
    await tool.locator('#f-rubric-1-maxScore').fill('10');
    // Both institution instances, each read twice; the default one comes ticked.
    for (const name of ['Mock careful marker', 'Mock quick marker']) {
      const use = tool.getByRole('checkbox', { name: `Use ${name}` });
      await use.check();
      await tool.getByLabel(`Runs of ${name}`).fill('2');
    }
    const models = await tool.locator('.model-row').allInnerTexts();
    assert.match(models.join(' '), /System/);
    assert.match(models.join(' '), /Default/);
    await tool.getByLabel(/review/i).first().check();
    await tool.getByLabel(/Send the overall score to the LMS gradebook/).check();

    await t.test('sees the estimate', async () => {
      await sees('Estimated cost');
      // The panel shows the page's starting selection (the default instance; it refreshes on save),
      // with its price per draft or "Price unknown" (never $0).
      const rows = await tool.locator('.estimate-panel tbody tr').allInnerTexts();
      for (const name of ['Mock careful marker']) {
        const row = rows.find((r) => r.includes(name));
        assert.ok(row, `the estimate lists ${name}`);
        assert.match(row, /Price unknown|\$\d/);
        assert.doesNotMatch(row, /\$0\.00\b.*\$0\.00\b/);
      }
    });
    frame = await toolFrame(page);
    await checkScreen(page, 'assignment-form', { frame });

    await form.getByRole('button', { name: 'Create and add to the course' }).last().click();
    // The tool posts the signed deep-linking response back to the LMS, which lists the new assignment.
    await page.waitForURL(/[?&]added=/);
    await page.getByRole('status').filter({ hasText: `Assignment added: “${TITLE}”` }).waitFor();
    assert.equal(stack.lms.links.length, 1);
    assert.equal(stack.lms.links[0]!.title, TITLE);
    assert.ok(stack.lms.links[0]!.graded, 'the link came with a gradebook column');
    await checkScreen(page, 'lms-assignment-added');
  });

  test('3. the student opens the assignment, submits a draft and sees it being generated', async () => {
    let frame = await launch(`Open “${TITLE}” as ${PEOPLE.student.name}`);
    await sees(TITLE);
    await sees('You have not submitted a draft yet.');
    // Before the first draft, the data-use notice: read and accepted.
    await sees('How your work is used');
    await checkScreen(page, 'student-before', { frame });
    await tool.getByRole('button', { name: 'I have read this and want to continue' }).click();
    await tool.getByLabel('Your text for draft 1').fill(ESSAY);
    await tool.getByRole('button', { name: 'Submit for feedback' }).click();
    await sees('Draft 1');
    await sees('Feedback is being generated…');
    frame = await toolFrame(page);
    await checkScreen(page, 'student-submitted', { frame });
    // Seen while queued; now the worker may take the runs.
    stack.startWorker();
  });

  test('4. the instructor follows progress, reviews, edits a score and releases in bulk', async () => {
    let frame = await launch(`Open “${TITLE}” as ${PEOPLE.instructor.name}`);
    await sees(TITLE);
    // The counts update by themselves (progress.js) until the four runs are done.
    await tool.locator('[data-progress="runs.succeeded"]').filter({ hasText: /^4$/ }).waitFor({ timeout: 60000 });
    await tool.locator('[data-progress="submissions.ready"]').filter({ hasText: /^1$/ }).waitFor();
    const counts = (await tool.locator('.counts').allInnerTexts()).join(' ').replace(/\s+/g, ' ');
    assert.match(counts, /Model runs 4/);
    assert.match(counts, /Done 4/);
    assert.match(counts, /Ready for review 1/);
    // The list below the counts is from page load: when the runs finished after it, the page offers a reload.
    const row = tool.getByRole('row').filter({ hasText: PEOPLE.student.name });
    if (!(await row.innerText()).includes('Ready for review')) await tool.getByRole('link', { name: 'Reload the list of submissions' }).click();
    await row.filter({ hasText: 'Ready for review' }).waitFor();
    frame = await toolFrame(page);
    await checkScreen(page, 'progress', { frame });

    await tool.getByRole('link', { name: new RegExp(`Review draft 1 by ${PEOPLE.student.name}`) }).click();
    await sees('Review and release');
    assert.match(await tool.locator('.student-text').innerText(), /Homework builds habits/);
    // A score outside the rubric is refused beside its field, with the typed value kept.
    await tool.getByLabel('Score (0 to 5)').fill('9');
    await tool.getByRole('button', { name: 'Save', exact: true }).click();
    await tool.locator('.field-invalid').first().waitFor();
    assert.match(await tool.locator('.field-invalid').first().innerText(), /between 0 and 5/);
    frame = await toolFrame(page);
    await checkScreen(page, 'review-invalid', { frame });
    await tool.getByLabel('Score (0 to 5)').fill('4');
    await tool.getByLabel('Summary').fill('A clear position. Support each reason with an example.');
    await tool.getByRole('button', { name: 'Save', exact: true }).click();
    await sees('Your changes were saved.');

    // Bulk release from the progress page. What the page says while the request runs is recorded
    // as it appears, in the frame's window.name: it outlives the same-origin navigation that follows
    // (storage is off limits to a third-party frame).
    await tool.getByRole('link', { name: `Back to ${TITLE}` }).click();
    await tool.getByRole('checkbox', { name: new RegExp(`Select draft 1 by ${PEOPLE.student.name}`) }).check();
    frame = await toolFrame(page);
    await frame.evaluate(() => {
      const status = document.querySelector<HTMLElement>('[data-release-status]');
      if (!status) throw new Error('no release status on the page');
      new MutationObserver(() => {
        if (!status.hidden && status.getAttribute('role') === 'status') window.name = `release-status:${status.textContent ?? ''}`;
      }).observe(status, { attributes: true, childList: true, characterData: true, subtree: true });
    });
    await tool.getByRole('button', { name: 'Release selected' }).click();
    await sees('Released 1 submission.');
    frame = await toolFrame(page);
    assert.match(await frame.evaluate(() => window.name), /^release-status:Releasing 1 selected draft and sending the grades to the gradebook… Keep this page open\.$/);
    const released = await tool.getByRole('row').filter({ hasText: PEOPLE.student.name }).innerText();
    assert.match(released, /Released/);
    assert.match(released, /Sent to the gradebook/);
    frame = await toolFrame(page);
    await checkScreen(page, 'released', { frame, docs: 'instructor-progress' });
  });

  test('5. the student sees the released feedback, labelled AI-generated', async () => {
    const frame = await launch(`Open “${TITLE}” as ${PEOPLE.student.name}`);
    await sees('AI-generated feedback');
    const feedback = await tool.locator('.feedback').innerText();
    assert.match(feedback, /Overall score: \d+(\.\d+)? out of 15/);
    assert.match(feedback, /Content: 4 out of 5/);
    assert.match(feedback, /Support each reason with an example\./);
    await checkScreen(page, 'student-feedback', { frame, docs: 'student-feedback' });
  });

  test('6. the grade reaches the demo LMS gradebook', async () => {
    await page.goto(stack.lmsUrl);
    const row = page.locator('#gradebook').getByRole('row').filter({ hasText: PEOPLE.student.name });
    const text = await row.innerText();
    assert.match(text, new RegExp(TITLE.replace(/[?]/g, '\\?')));
    assert.match(text, /\d+(\.\d+)? \/ 15/);
    const score = stack.lms.scores.at(-1)!.body;
    assert.equal(score.userId, PEOPLE.student.sub);
    assert.equal(score.scoreMaximum, 15);
    assert.equal(score.gradingProgress, 'FullyGraded');
    await checkScreen(page, 'lms-gradebook');
    // Everything the screens loaded came from the LMS or the tool: no CDN, no third party.
    const origins = new Set(requested.filter((u) => /^https?:/.test(u)).map((u) => new URL(u).origin));
    assert.deepEqual([...origins].sort(), [new URL(stack.lmsUrl).origin, stack.toolUrl].sort());
    // Cross-site for real: the LMS and the tool are on different host names (SameSite=None cookies, frame-ancestors).
    assert.notEqual(new URL(stack.lmsUrl).hostname, new URL(stack.toolUrl).hostname);
    // The key never reached a log line either.
    assert.ok(!fs.readFileSync(logFile, 'utf8').includes(MOCK_KEY), 'the API key is in the tool log');
  });

  /** Follows a link of the tool's configuration navigation, checks the page's heading and the screen. */
  async function visit(link: string, heading: string | RegExp, name: string): Promise<void> {
    await nav(link);
    await opens(heading, name);
  }

  /** Waits for the page's main heading, then checks the screen. */
  async function opens(heading: string | RegExp, name: string): Promise<void> {
    await tool.getByRole('heading', { level: 1, name: heading }).waitFor();
    await checkScreen(page, name, { frame: await toolFrame(page) });
  }

  test('7. every other administration screen, reached through the tool’s own navigation', async () => {
    await launch(`Open FeedForward as ${PEOPLE.admin.name} (administrator)`);
    await sees('Deployment settings');
    await visit('Settings', 'Settings', 'admin-settings');
    await visit('Student data', 'Student data', 'admin-privacy');
    await tool.getByLabel('Name, email or LMS user id').fill(PEOPLE.student.name);
    await tool.getByRole('button', { name: 'Find' }).click();
    await tool.getByRole('row').filter({ hasText: PEOPLE.student.sub }).waitFor();
    await opens('Student data', 'admin-privacy-found');
    await visit('Usage and budgets', 'Usage and budgets', 'admin-usage');
    await sees('Spend over time');
    await visit('Audit log', 'Audit log', 'admin-audit');
    await visit('Model catalogue', 'Model catalogue', 'admin-catalogue');
    await tool.getByRole('link', { name: 'Add a model' }).click();
    await opens('Add a model', 'admin-catalogue-new');
    await tool.getByRole('link', { name: 'Back to the catalogue' }).click();
    await tool.getByRole('link', { name: /^Change price/ }).first().click();
    await opens(/^Price of /, 'admin-catalogue-price');

    await nav('Connections');
    await tool.getByRole('link', { name: 'Edit Mock LLM', exact: true }).click();
    await opens('Edit Mock LLM', 'admin-connection-edit');
    assert.ok(!(await (await toolFrame(page)).content()).includes(MOCK_KEY), 'the API key is in the page');
    await nav('Connections');
    await tool.getByRole('link', { name: 'Delete Mock LLM', exact: true }).click();
    // Both instances use it: the page says so instead of deleting.
    await opens('Delete “Mock LLM”?', 'admin-connection-delete');
    await sees('It cannot be undone.');
    await tool.getByRole('button', { name: 'Delete connection' }).click();
    await sees('This connection is still in use');
    await checkScreen(page, 'admin-connection-in-use', { frame: await toolFrame(page) });
    assert.equal(await tool.getByRole('heading', { level: 1 }).innerText(), 'Delete “Mock LLM”?');

    await nav('Model instances');
    await tool.getByRole('link', { name: 'Add an instance' }).click();
    await opens('Add an instance', 'admin-instance-connection');
    await nav('Model instances');
    await tool.getByRole('link', { name: 'Edit Mock quick marker', exact: true }).click();
    await opens('Edit Mock quick marker', 'admin-instance-edit');
    await nav('Model instances');
    await tool.getByRole('link', { name: 'Delete Mock quick marker', exact: true }).click();
    await opens('Delete “Mock quick marker”?', 'admin-instance-delete');
  });

  test('8. every other instructor screen, reached through the tool’s own navigation', async () => {
    await launch(`Open FeedForward as ${PEOPLE.instructor.name} (instructor)`);
    // The course's own link is not an assignment yet: the tool offers to set one up there.
    await opens('Set up feedback for this assignment', 'instructor-link-setup');
    await launch(`Open “${TITLE}” as ${PEOPLE.instructor.name}`);
    await tool.getByRole('link', { name: 'Edit assignment' }).click();
    await opens(`Edit ${TITLE}`, 'instructor-assignment-edit');
    assert.equal(await tool.getByLabel('Title').inputValue(), TITLE);
    await visit('Available from your institution', 'Available from your institution', 'instructor-available');
    await sees('Mock careful marker');
    await visit('My connections', 'My connections', 'instructor-connections');
    await tool.getByRole('link', { name: 'Add a connection' }).click();
    await opens('Add a connection', 'instructor-connection-new');
    await visit('My instances', 'My instances', 'instructor-instances');
    await visit('My usage', 'My usage', 'instructor-usage');
    await sees('Spending caps');
  });
});
