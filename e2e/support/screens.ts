/// <reference lib="dom" />
import fs from 'node:fs';
import path from 'node:path';
import type { Frame, Page } from 'playwright-core';

// What every screen must pass, checked in the real browser at the two widths of LMS frames we
// support: axe-core (no serious or critical violation), no sideways scrolling inside the frame, and
// a screenshot of each width under test-results/e2e/ (gitignored).

export const RESULTS_DIR = path.join(__dirname, '..', '..', 'test-results', 'e2e');
/** Screenshots the README shows; written only when E2E_DOCS_SCREENSHOTS=1. */
export const DOCS_DIR = path.join(__dirname, '..', '..', 'docs');
export const WIDTHS = [1200, 700] as const;
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core inside `frame`. It is evaluated over the DevTools protocol, so the tool's CSP stays
 * on (no bypassCSP): the page never gets a script tag it did not ask for.
 */
export async function axeViolations(frame: Frame): Promise<AxeViolation[]> {
  await frame.evaluate(AXE_SOURCE);
  return frame.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: unknown): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

/** The tool's frame in the LMS page, once it shows a FeedForward page. */
export async function toolFrame(page: Page): Promise<Frame> {
  const handle = await page.waitForSelector('#tool-frame');
  const frame = await handle.contentFrame();
  if (!frame) throw new Error('the LMS page has no tool frame');
  await frame.waitForSelector('.site-header');
  return frame;
}

let counter = 0;

/**
 * Checks the screen now shown (the tool in its frame, or the LMS page itself) at both widths and
 * saves the screenshots; throws listing every serious or critical axe violation and any overflow.
 */
export async function checkScreen(page: Page, name: string, opts: { frame?: Frame; docs?: string } = {}): Promise<void> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const prefix = String(++counter).padStart(2, '0');
  const problems: string[] = [];
  const original = page.viewportSize();
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: original?.height ?? 1100 });
    const target = opts.frame ?? page.mainFrame();
    // Two animation frames: the resize has been laid out before anything is measured.
    await target.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const overflow = await target.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 0) problems.push(`${name} at ${width} px scrolls sideways by ${overflow} px`);
    for (const v of await axeViolations(target)) {
      if (v.impact === 'serious' || v.impact === 'critical') problems.push(`${name} at ${width} px: ${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(', ')}`);
    }
    const file = path.join(RESULTS_DIR, `${prefix}-${name}-${width}.png`);
    // The frame is as tall as its page for the picture, so the screenshot shows the whole screen.
    const frameHeight = opts.frame ? await opts.frame.evaluate(() => document.documentElement.scrollHeight) : undefined;
    if (frameHeight) {
      await page.locator('#tool-frame').evaluate((el: HTMLElement, h: number) => { el.style.height = `${h + 4}px`; }, frameHeight);
      await opts.frame!.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    }
    await page.screenshot({ path: file, fullPage: true });
    if (frameHeight) await page.locator('#tool-frame').evaluate((el: HTMLElement) => { el.style.height = ''; });
    if (opts.docs && process.env.E2E_DOCS_SCREENSHOTS === '1') fs.copyFileSync(file, path.join(DOCS_DIR, `${opts.docs}-${width}.png`));
  }
  if (original) await page.setViewportSize(original);
  if (problems.length) throw new Error(`Screen problems:\n  ${problems.join('\n  ')}`);
}
