/**
 * The dashboard in a real browser (headless Debian Chromium through playwright-core) against
 * `npm start`: sign-in, role-aware buttons, registering a version through the UI, approval and
 * promotion by a second user, rollback, a drift chart after a drift check, and a screenshot of
 * each page (test-output/dashboard/, at 1280 px and on a phone-sized viewport).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoModel } from '../../functions/core/training/demo.js';
import { launchChromium } from '../support/browser.js';
import { START_TIMEOUT_MS } from '../support/lifecycle.js';
import { apiClient, type ServalProcess, startServal, waitFor } from '../support/serval-process.js';

const SHOTS = join(process.cwd(), 'test-output', 'dashboard');
const demo = makeDemoModel();

let serval: ServalProcess;
let browser: Browser;
let admin: ReturnType<typeof apiClient>;
const keys: Record<'viewer' | 'scientist' | 'approver', string> = { viewer: '', scientist: '', approver: '' };

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  [serval, browser] = await Promise.all([startServal({ via: 'npm' }), launchChromium()]);
  admin = apiClient(serval.url, serval.adminKey);
  for (const role of ['viewer', 'scientist', 'approver'] as const) {
    const res = await admin('POST', '/v1/auth/keys', { name: `ui-${role}`, role });
    expect(res.status).toBe(201);
    keys[role] = res.body.key;
  }
}, START_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await serval?.stop();
});

async function signedIn(role: keyof typeof keys, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  (page as Page & { errors: string[] }).errors = errors;
  await page.goto(`${serval.url}/`);
  // Keyboard only: the field is labelled and Enter submits.
  await page.getByLabel('API key').fill(keys[role]);
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

describe('the dashboard', () => {
  it('is served at / with its security headers, and every other non-API path gets the app', async () => {
    const root = await fetch(`${serval.url}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toMatch(/^text\/html/);
    expect(root.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(root.headers.get('cache-control')).toBe('no-cache');
    const html = await root.text();
    const js = html.match(/\/assets\/main-[A-Z0-9]+\.js/)?.[0];
    expect(js).toBeDefined();
    const asset = await fetch(`${serval.url}${js}`);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(await (await fetch(`${serval.url}/models/iris-demo`)).text()).toBe(html);
    expect((await fetch(`${serval.url}/assets/main-GONE.js`)).status).toBe(404);
    expect((await fetch(`${serval.url}/v1/nope`)).headers.get('content-type')).toMatch(/json/);
    expect(serval.output()).toContain(`dashboard  ${serval.url}/`);
  });

  it('keeps the token, never the key, and a viewer sees the demo model without lifecycle buttons', async () => {
    const page = await signedIn('viewer');
    await page.getByRole('link', { name: 'iris-demo' }).waitFor();
    const stored = await page.evaluate<string>(
      'JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage })',
    );
    expect(stored).not.toContain(keys.viewer);
    expect(stored).toContain('token');
    await shot(page, 'models');
    await page.getByRole('link', { name: 'iris-demo' }).click();
    await page.getByRole('button', { name: '1.0.0' }).first().click();
    await page.getByRole('heading', { name: 'Version 1.0.0' }).waitFor();
    await page.getByText('Your role (viewer) can read this version').waitFor();
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Roll back' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Retrain' }).count()).toBe(0);
    // Every form control has an accessible name.
    // (evaluated in the page: this project's Node typings have no DOM)
    const unlabelled = await page.evaluate<number>(
      "[...document.querySelectorAll('input, select, textarea')].filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label')).length",
    );
    expect(unlabelled).toBe(0);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    expect((page as Page & { errors: string[] }).errors).toEqual([]);
    await page.close();
  });

  it('registers a version through the UI; an approver approves, promotes and rolls back; drift shows as charts', async () => {
    // 1.0.0 goes to production first (through the API), so there is something to roll back to.
    const approver = apiClient(serval.url, keys.approver);
    for (const stage of ['testing', 'staging', 'production']) {
      const moved = await approver('POST', '/v1/models/iris-demo/versions/1.0.0/transition', { stage });
      expect(moved.status).toBe(200);
      if (stage === 'staging') {
        const approved = await approver('POST', '/v1/models/iris-demo/versions/1.0.0/approval', {
          decision: 'approved',
        });
        expect(approved.status).toBe(200);
      }
    }

    const alice = await signedIn('scientist');
    await alice.goto(`${serval.url}/models/iris-demo`);
    // Mistakes in the form are said as such, not as a server that cannot be reached.
    const register = alice.getByRole('button', { name: 'Register' });
    const refusal = alice.getByRole('form', { name: 'Register a version' }).getByRole('alert');
    expect(await register.isDisabled()).toBe(true);
    await alice.getByLabel('Metrics (JSON)').fill('{accuracy: 0.97');
    await alice.getByLabel('ONNX file').setInputFiles({
      name: 'model.onnx',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(demo.onnx),
    });
    await register.click();
    await refusal.getByText(/Metrics must be a JSON object/).waitFor();
    expect(await refusal.textContent()).not.toMatch(/could not be reached/);
    await alice.getByLabel('ONNX file').setInputFiles({
      name: 'model.onnx',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(demo.onnx),
    });
    // A version that exists already is refused with the server's reason, and advice that fits it
    // (reloading alone would not help).
    await alice.getByLabel('Version (empty: next patch)').fill('1.0.0');
    await alice.getByLabel('Metrics (JSON)').fill('{"accuracy": 0.97}');
    await register.click();
    await refusal.getByText(/version 1\.0\.0 of model iris-demo already exists/).waitFor();
    expect(await refusal.textContent()).toMatch(/choose another name or version/);
    await alice.getByLabel('Version (empty: next patch)').fill('1.1.0');
    await alice.getByLabel('Parent version (lineage)').fill('1.0.0');
    await alice.getByLabel('Metrics (JSON)').fill('{"accuracy": 0.97}');
    await alice.getByRole('button', { name: 'Register' }).click();
    // Either outcome ends the wait, so a refusal fails with its reason rather than a timeout; a
    // timeout here means the request itself never finished.
    const other = refusal.filter({ hasNotText: /Metrics must be|already exists/ });
    await alice.getByText('Registered iris-demo@1.1.0').or(other).first().waitFor();
    expect(await other.allTextContents()).toEqual([]);
    await alice.getByRole('heading', { name: 'Version 1.1.0' }).waitFor();
    await alice.getByText('1.1.0 ← 1.0.0').waitFor();
    // A scientist may not promote or approve: neither is offered.
    expect(await alice.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await alice.locator('#move-stage option[value="production"]').count()).toBe(0);
    // Validate with the demo's holdout as a CSV.
    const csv = [
      'a,b,c,d,label',
      ...demo.holdout.instances.map((r, i) => `${r.join(',')},${demo.holdout.labels[i]}`),
    ].join('\n');
    await alice
      .getByLabel('Validation set (CSV with a header; the last column is the label)')
      .setInputFiles({ name: 'holdout.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await alice.getByRole('button', { name: 'Validate', exact: true }).click();
    await alice.getByText(/Validation (passed|failed) on \d+ rows/).waitFor();
    for (const stage of ['testing', 'staging']) {
      await alice.getByLabel('Move to').selectOption(stage);
      await alice.getByRole('button', { name: 'Move', exact: true }).click();
      await alice.getByText(`Version 1.1.0 moved to ${stage}.`).waitFor();
    }
    await alice.close();

    const bob = await signedIn('approver');
    await bob.goto(`${serval.url}/models/iris-demo?version=1.1.0`);
    await bob.getByRole('heading', { name: 'Version 1.1.0' }).waitFor();
    await bob.getByLabel('Comment (kept in the audit trail)').fill('looks good');
    await bob.getByRole('button', { name: 'Approve' }).click();
    await bob.getByText('Version 1.1.0 approved.').waitFor();
    await bob.getByLabel('Move to').selectOption('production');
    await bob.getByRole('button', { name: 'Promote' }).click();
    await bob.getByText('Version 1.1.0 moved to production.').waitFor();
    expect((await admin('GET', '/v1/models/iris-demo')).body.productionVersion).toBe('1.1.0');
    await bob
      .getByRole('cell', { name: /version\.approve|approval/ })
      .first()
      .waitFor();
    await shot(bob, 'model');

    await bob.getByRole('button', { name: 'Roll back' }).click();
    await bob.getByText('Production is now 1.0.0.').waitFor();
    expect((await admin('GET', '/v1/models/iris-demo')).body.productionVersion).toBe('1.0.0');

    // Traffic far from the training data, a baseline, then a drift check from the monitoring page.
    const baseline = await admin('PUT', '/v1/models/iris-demo/baseline', {
      version: '1.0.0',
      rows: demo.train.instances,
    });
    expect(baseline.status).toBe(200);
    const shifted = Array.from({ length: 60 }, (_, i) => [
      8 + (i % 7) * 0.1,
      3.5 + (i % 5) * 0.1,
      7 + (i % 3) * 0.1,
      2.6,
    ]);
    const served = await admin('POST', '/v1/models/iris-demo/predict', { instances: shifted });
    expect(served.status).toBe(200);
    await waitFor(serval, 'captured predictions', async () => {
      const s = await admin('GET', '/v1/models/iris-demo/stats');
      return s.body.total.capture.captured >= 60 ? true : undefined;
    });
    await bob.goto(`${serval.url}/models/iris-demo/monitoring`);
    await bob.getByText('No drift checks yet').waitFor();
    await bob.getByRole('button', { name: 'Run a drift check now' }).click();
    await bob.getByText(/Checked \d+ rows: drift/).waitFor();
    await bob.locator('figure.chart canvas').first().waitFor();
    // Charts draw once their data is in: wait for the canvas, then count it.
    const statChart = bob
      .getByRole('figure', { name: /petal_length: ks statistic over time/ })
      .locator('canvas');
    await statChart.waitFor();
    expect(await statChart.count()).toBe(1);
    // The baseline against the window that was checked, per feature.
    const histChart = bob
      .getByRole('figure', { name: /petal_length: baseline vs latest window/ })
      .locator('canvas');
    await histChart.waitFor();
    expect(await histChart.count()).toBe(1);
    expect(await bob.getByRole('cell', { name: /yes \(/ }).count()).toBeGreaterThan(0);
    await shot(bob, 'monitoring');
    // The README's picture: the top of the monitoring page, as a 1280 px window shows it.
    await bob.screenshot({ path: join(SHOTS, 'readme.png') });

    // The same check wrote a data-quality report: values beyond the baseline's range.
    await bob.getByRole('link', { name: 'iris-demo' }).click();
    await bob.getByRole('link', { name: 'Quality, performance and fairness →' }).click();
    await bob.getByRole('heading', { name: 'Quality: iris-demo' }).waitFor();
    await bob.getByRole('cell', { name: 'out_of_range' }).first().waitFor();
    await bob.getByText('No labels for this window').waitFor();
    await bob.getByLabel('Context attribute').fill('region');
    await bob.getByRole('button', { name: 'Show fairness' }).click();
    await bob.getByText(/have region in their context/).waitFor();
    await shot(bob, 'quality');

    await bob.getByRole('link', { name: 'Alerts' }).click();
    await bob.getByText(/iris-demo: dataset drift/).waitFor();
    await shot(bob, 'alerts');
    // The shifted window raises a drift alert and a data-quality alert: acknowledge each.
    const ack = bob.getByRole('button', { name: /^Acknowledge/ });
    expect(await ack.count()).toBeGreaterThan(0);
    while ((await ack.count()) > 0) {
      const before = await ack.count();
      await ack.first().click();
      await expect.poll(() => ack.count(), { timeout: 15_000 }).toBeLessThan(before);
    }
    await bob.getByText('No alerts with status open').waitFor();

    await bob.getByRole('link', { name: 'Experiments' }).click();
    await bob.getByText('No experiments').waitFor();
    await shot(bob, 'experiments');

    // Ground truth for the shifted predictions, two thirds right: the monitoring page charts it.
    const truth = (served.body.predictionIds as string[]).map((predictionId, i) => ({
      predictionId,
      actual: i % 3 === 0 ? 'not-the-class' : served.body.predictions[i],
    }));
    expect((await admin('POST', '/v1/predictions/feedback', truth)).status).toBe(200);
    await waitFor(serval, 'feedback counted', async () => {
      const s = await admin('GET', '/v1/models/iris-demo/stats');
      return s.body.total.feedback?.count >= 60 ? true : undefined;
    });
    await bob.goto(`${serval.url}/models/iris-demo/monitoring`);
    const accuracyChart = bob.getByRole('figure', { name: 'Accuracy from feedback' }).locator('canvas');
    await accuracyChart.waitFor();
    expect(await accuracyChart.count()).toBe(1);
    expect((bob as Page & { errors: string[] }).errors).toEqual([]);
    await bob.close();

    const phone = await signedIn('approver', { width: 390, height: 844 });
    await phone.getByRole('link', { name: 'iris-demo' }).waitFor();
    await shot(phone, 'models-phone');
    // Nothing wider than the screen but the tables' own scroll boxes.
    expect(await phone.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await phone.goto(`${serval.url}/models/iris-demo?version=1.1.0`);
    await phone.getByRole('heading', { name: 'Version 1.1.0' }).waitFor();
    await phone.getByText('1.1.0 ← 1.0.0').waitFor();
    await phone.getByRole('heading', { name: 'Audit trail' }).locator('..').getByRole('table').waitFor();
    await shot(phone, 'model-phone');
    expect(await phone.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await phone.close();
  }, 90_000);

  it('retrains from the model page and follows the job to its result on the Jobs page', async () => {
    const bob = await signedIn('approver');
    await bob.getByRole('link', { name: 'Jobs', exact: true }).click();
    await bob.getByRole('heading', { name: 'Retraining jobs' }).waitFor();
    await bob.getByText('No retraining jobs').waitFor();
    await bob.goto(`${serval.url}/models/iris-demo`);
    await bob.getByLabel('Retrain: reason (kept on the job and in the audit trail)').fill('drift on petals');
    await bob.getByRole('button', { name: 'Retrain' }).click();
    await bob.getByText(/queued: the candidate will be registered in staging/).waitFor();
    await bob.getByRole('link', { name: 'Follow it on the Jobs page' }).click();
    // The list re-reads active jobs until they end.
    await bob.locator('.badge', { hasText: 'succeeded' }).waitFor({ timeout: 60_000 });
    const job = (await admin('GET', '/v1/jobs?model=iris-demo')).body.items[0];
    expect(job).toMatchObject({ state: 'succeeded', reason: 'drift on petals' });
    await bob.getByRole('link', { name: job.resultVersion }).waitFor();
    expect(await bob.getByRole('button', { name: /^Cancel/ }).count()).toBe(0);
    await shot(bob, 'jobs');
    await bob.getByRole('link', { name: job.id }).click();
    await bob.getByRole('heading', { name: `Job ${job.id}` }).waitFor();
    // The job's own log, oldest first: its request, then the worker's lines.
    await bob.locator('ol.log li', { hasText: 'queued by ui-approver (manual): drift on petals' }).waitFor();
    expect(await bob.locator('ol.log li').count()).toBeGreaterThan(1);
    await shot(bob, 'job');
    expect((bob as Page & { errors: string[] }).errors).toEqual([]);
    await bob.close();

    const phone = await signedIn('viewer', { width: 390, height: 844 });
    await phone.goto(`${serval.url}/jobs`);
    await phone.locator('.badge', { hasText: 'succeeded' }).waitFor();
    await shot(phone, 'jobs-phone');
    expect(await phone.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await phone.goto(`${serval.url}/models/iris-demo/quality`);
    await phone.getByRole('cell', { name: 'out_of_range' }).first().waitFor();
    await shot(phone, 'quality-phone');
    expect(await phone.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await phone.close();
  }, 90_000);
});
