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
const KEY_HINT = '7Q4z';

describe('the feedback journey in Chromium, inside the demo LMS', { timeout: 600000 }, () => {
  let stack: DemoStack;
  let browser: Browser;
  let page: Page;
  let tool: FrameLocator;
  const logFile = path.join(RESULTS_DIR, 'tool.log');

  before(async () => {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const dataDir = fs.mkdtempSync(path.join(__dirname, '..', '.tmp', 'e2e-'));
    const log = fs.createWriteStream(logFile);
    // The worker starts once the student has seen their draft waiting (step 3): no timing in tests.
    stack = await startDemoStack({ dataDir, mockLatencyMs: 50, runWorker: false, logLevel: 'info', logDestination: log });
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    tool = page.frameLocator('#tool-frame');
  });

  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** Opens the LMS course page and clicks one of its launch buttons; resolves with the tool's frame. */
  async function launch(button: string | RegExp): Promise<Frame> {
    await page.goto(stack.lmsUrl);
    await page.getByRole('button', { name: button }).click();
    const frame = await toolFrame(page);
    return frame;
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
});
