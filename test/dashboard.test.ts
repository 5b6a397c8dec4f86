// The dashboard in a real headless Chromium (Debian's chromium, driven by
// playwright-core) against the real API, worker, Postgres, Redis and S3.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, tinyMlp, waitForJob } from './helpers/api.ts';
import { bundleForBrowser } from '../apps/client/bundle.ts';

const ARTIFACTS = new URL('../test-artifacts/', import.meta.url);
const CHROMIUM = '/usr/bin/chromium';
// Without the background-networking flags Chromium dials out at start-up, and on a closed network that fails.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Runs JS in the page. A string, not a function: tsx would wrap named inner functions in a helper the page lacks. */
const inPage = <T>(page: Page, js: string) => page.evaluate(js) as Promise<T>;

/** Each dataset's data (x, y) of the Chart.js chart on a canvas, read from the live Chart instance. */
const chartData = (page: Page, canvasId: string) =>
  inPage<{ type: string; datasets: Array<{ label: string; hidden: boolean; data: Array<{ x: unknown; y: unknown; v?: number }> }> } | null>(page, `(() => {
    const chart = window.Chart.getChart(document.getElementById(${JSON.stringify(canvasId)}));
    return chart ? { type: chart.config.type, datasets: chart.data.datasets.map((d) => ({ label: d.label, hidden: !!d.hidden, data: d.data })) } : null;
  })()`);

const rowCount = (page: Page, selector: string) => page.locator(`${selector} tbody tr`).count();

describe('dashboard in headless Chromium', () => {
  let h: Harness;
  let baseUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    h = await createHarness({ worker: true });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    // launch() gives every browser a fresh temporary profile (its own --user-data-dir).
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    // Reduced motion: the dashboard then draws charts without animation, so a screenshot shows them whole.
    context = await browser.newContext({ reducedMotion: 'reduce', viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' || /Content Security Policy/i.test(msg.text())) pageErrors.push(`console: ${msg.text()}`);
    });
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  /** Opens a dashboard URL, entering the tenant's key if the page asks for it. */
  async function open(hash: string) {
    await page.goto(`${baseUrl}/${hash}`);
    await page.waitForSelector('main[data-view]');
    if ((await page.locator('main').getAttribute('data-view')) === 'key') {
      await page.fill('#key-input', h.tenant.apiKey);
      await page.click('#key-form button[type=submit]');
    }
  }

  it('serves the shell and the vendored chart bundles, under a CSP that allows scripts from itself only', async () => {
    const shell = await http(h.app, '').get('/');
    assert.equal(shell.status, 200);
    assert.match(shell.headers['content-type'], /^text\/html/);
    const csp = shell.headers['content-security-policy'];
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe|\*/);
    assert.match(shell.text, /<script src="\/assets\/chart\.umd\.js"/);
    assert.doesNotMatch(shell.text, /<script>|<style>| style=/, 'no inline script or style for the CSP to refuse');
    for (const asset of ['/assets/chart.umd.js', '/assets/chartjs-chart-matrix.js', '/dashboard/app.js', '/dashboard/views.js']) {
      const res = await http(h.app, '').get(asset);
      assert.equal(res.status, 200, asset);
      assert.match(res.headers['content-type'], /^text\/javascript/, asset);
    }
    // Only the listed files are served: nothing else on disk is reachable.
    assert.equal((await http(h.app).get('/dashboard/../package.json')).status, 404);
    assert.equal((await http(h.app).get('/dashboard/index.html')).status, 404);
  });

  let ftId: string;
  let baseName: string;
  it('shows a finished job: one point per epoch, the confusion heatmap, per-class metrics, the comparison, checkpoints, models and lineage', async () => {
    const app = h.app;
    const low = await createDataset(app, 'digits 0-4', { type: 'mnist', split: 'train', classes: [0, 1, 2, 3, 4], count: 300 });
    const high = await createDataset(app, 'digits 5-9', { type: 'mnist', split: 'train', classes: [5, 6, 7, 8, 9], count: 200 });
    const highVal = await createDataset(app, 'digits 5-9 validation', { type: 'mnist', split: 'train', classes: [5, 6, 7, 8, 9], count: 100, offset: 5000 });
    const highTest = await createDataset(app, 'digits 5-9 test', { type: 'mnist', split: 'test', classes: [5, 6, 7, 8, 9], count: 100 });
    baseName = 'base 0-4';
    const pre = await submitJob(app, { type: 'pretrain', name: baseName, architecture: tinyMlp(5), hyperparameters: { epochs: 2, batchSize: 32, learningRate: 0.01 }, trainDatasetId: low.id });
    const preDone = await waitForJob(app, pre.id, finished);
    assert.equal(preDone.status, 'succeeded', JSON.stringify(preDone.error));
    const EPOCHS = 4;
    const ft = await submitJob(app, {
      name: 'fine-tuned 5-9',
      baseModelId: preDone.outputModelId,
      head: [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 5, activation: 'softmax' }],
      hyperparameters: { epochs: EPOCHS, batchSize: 32, learningRate: 0.01 },
      trainDatasetId: high.id,
      validationDatasetId: highVal.id,
      testDatasetId: highTest.id,
      compareWithScratch: true,
      targetValAccuracy: 0.5,
    });
    ftId = ft.id;
    const done = await waitForJob(app, ft.id, finished);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    const metrics = (await http(app).get(`/v1/jobs/${ft.id}/metrics`)).body.data as Array<Record<string, number>>;
    assert.equal(metrics.length, EPOCHS);

    await open(`#/jobs/${ft.id}`);
    await page.waitForSelector('main[data-view=job] [data-loaded=true]');
    await page.waitForSelector('#confusion-chart');
    await page.waitForSelector('#comparison-chart');

    // The curves: train and validation, exactly one point per epoch, the API's values.
    const epochs = metrics.map((m) => m.epoch);
    for (const [canvas, train, val] of [['loss-chart', 'loss', 'valLoss'], ['accuracy-chart', 'accuracy', 'valAccuracy']] as const) {
      const chart = await chartData(page, canvas);
      assert.ok(chart, `${canvas} is a Chart.js chart`);
      assert.equal(chart.type, 'line');
      assert.equal(chart.datasets.length, 2);
      const [trainSeries, valSeries] = chart.datasets;
      for (const [series, key] of [[trainSeries, train], [valSeries, val]] as const) {
        assert.equal(series.hidden, false, `${canvas}: ${series.label} is shown`);
        assert.equal(series.data.length, EPOCHS, `${canvas}: ${series.label} has one point per epoch`);
        assert.deepEqual(series.data.map((p) => p.x), epochs);
        assert.deepEqual(series.data.map((p) => p.y), metrics.map((m) => m[key]));
      }
    }

    // The confusion matrix as a heatmap: one cell per (true, predicted) pair, counts summing to the evaluated examples.
    const heatmap = await chartData(page, 'confusion-chart');
    assert.ok(heatmap);
    assert.equal(heatmap.type, 'matrix');
    const cells = heatmap.datasets[0].data;
    assert.equal(cells.length, 25);
    assert.equal(cells.reduce((a, c) => a + (c.v ?? 0), 0), done.evaluation.numExamples);
    assert.deepEqual(cells.filter((c) => c.x === c.y).map((c) => c.v), done.evaluation.confusionMatrix.map((row: number[], i: number) => row[i]));
    assert.equal(await rowCount(page, '#per-class-table'), 5);
    assert.deepEqual(await page.locator('#per-class-table tbody tr td:first-child').allTextContents(), ['5', '6', '7', '8', '9']);

    // The side-by-side comparison with training from scratch.
    assert.equal(await rowCount(page, '#comparison-table'), 2);
    const cmp = await chartData(page, 'comparison-chart');
    assert.ok(cmp);
    assert.deepEqual(cmp.datasets.slice(0, 2).map((d) => d.data.length), [EPOCHS, EPOCHS]);

    // Checkpoints: one per epoch; model.json downloads with the key.
    assert.equal(await rowCount(page, '#checkpoints-table'), EPOCHS);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#checkpoints-table tbody tr').first().getByRole('button', { name: 'model.json' }).click()]);
    const checkpointJson = JSON.parse(await readFile((await download.path())!, 'utf8'));
    assert.ok(checkpointJson.modelTopology && checkpointJson.weightsManifest, 'a TensorFlow.js model.json');
    // The output model: signed links that open without a key.
    await page.getByRole('button', { name: 'get download links' }).click();
    const signedHref = await page.locator('#checkpoints a[download="model.json"]').getAttribute('href');
    assert.ok(signedHref?.includes('signature='));
    const signed = await fetch(`${baseUrl}${signedHref}`);
    assert.equal(signed.status, 200);
    assert.ok(((await signed.json()) as { modelTopology?: unknown }).modelTopology);

    // A screenshot that is not blank: many colours, much that is not background, and both curve colours drawn.
    await mkdir(ARTIFACTS, { recursive: true });
    const shotPath = new URL('dashboard-job.png', ARTIFACTS);
    await writeFile(shotPath, await page.screenshot({ fullPage: true }));
    const png = PNG.sync.read(await readFile(shotPath));
    const counts = new Map<number, number>();
    let blue = 0;
    let orange = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      counts.set((r << 16) | (g << 8) | b, (counts.get((r << 16) | (g << 8) | b) ?? 0) + 1);
      if (Math.abs(r - 0x25) < 24 && Math.abs(g - 0x63) < 24 && Math.abs(b - 0xeb) < 24) blue++;
      if (Math.abs(r - 0xea) < 24 && Math.abs(g - 0x58) < 24 && Math.abs(b - 0x0c) < 24) orange++;
    }
    const pixels = png.width * png.height;
    const [first, second] = [...counts.values()].sort((a, b) => b - a);
    assert.ok(counts.size > 200, `${counts.size} distinct colours`);
    assert.ok((pixels - first - second) / pixels > 0.05, 'more than page and card background');
    assert.ok(blue > 500 && orange > 500, `curve colours drawn (blue ${blue}, orange ${orange} pixels)`);

    // The jobs list: both jobs, with status and epoch progress.
    await open('#/jobs');
    await page.waitForSelector(`#jobs-table tr[data-job-id="${ft.id}"]`);
    assert.equal(await rowCount(page, '#jobs-table'), 2);
    const ftRow = page.locator(`#jobs-table tr[data-job-id="${ft.id}"]`);
    assert.equal(await ftRow.getAttribute('data-status'), 'succeeded');
    assert.match((await ftRow.textContent())!, new RegExp(`finetune.*succeeded.*${EPOCHS}/${EPOCHS}`));

    // The models, with lineage base → fine-tuned ← job.
    await open(`#/models/${done.outputModelId}`);
    await page.waitForSelector('#models-table tbody tr');
    assert.equal(await rowCount(page, '#models-table'), 2);
    const lineage = page.locator(`#models-table tr[data-model-id="${done.outputModelId}"] .lineage`);
    assert.match((await lineage.textContent())!, /^base 0-4 → fine-tuned 5-9 ← job /);
    assert.equal(await lineage.locator(`a[href="#/jobs/${ft.id}"]`).count(), 1);
    assert.equal(await lineage.locator(`a[href="#/models/${preDone.outputModelId}"]`).count(), 1);

    assert.deepEqual(pageErrors, [], 'no script errors and no CSP refusals');
  });

  it('grows the curves as epochs finish, on a page opened before the job ran', async () => {
    // No worker: the job waits in the queue while the page opens and follows it.
    await h.worker!.close();
    h.worker = undefined;
    const datasets = (await http(h.app).get('/v1/datasets?limit=100')).body.data as Array<{ id: string; name: string }>;
    const train = datasets.find((d) => d.name === 'digits 0-4')!;
    const job = await submitJob(h.app, { type: 'pretrain', name: 'live', architecture: tinyMlp(5), hyperparameters: { epochs: 3, batchSize: 32, learningRate: 0.01 }, trainDatasetId: train.id });
    await open(`#/jobs/${job.id}`);
    await page.waitForSelector('main[data-view=job] [data-loaded=true][data-status=queued]');
    assert.equal((await chartData(page, 'loss-chart'))!.datasets[0].data.length, 0);
    await inPage(page, 'window.__samePage = true');

    await h.startWorker();
    await page.waitForSelector('[data-status=succeeded]', { timeout: 120_000 });
    await page.waitForFunction(`window.Chart.getChart(document.getElementById('loss-chart')).data.datasets[0].data.length === 3`, undefined, { timeout: 30_000 });
    assert.equal(await inPage(page, 'window.__samePage'), true, 'updated in place, without a reload');
    const loss = await chartData(page, 'loss-chart');
    assert.deepEqual(loss!.datasets.map((d) => d.data.map((p) => p.x)), [[1, 2, 3], [1, 2, 3]]);
    assert.deepEqual(pageErrors, []);
  });

  it('shows a sweep: the leaderboard, each trial\'s curve of the objective, the feature passes, and the sweeps list', async () => {
    const jobs = (await http(h.app).get('/v1/jobs?limit=100')).body.data as Array<{ name: string | null; outputModelId: string | null }>;
    const datasets = (await http(h.app).get('/v1/datasets?limit=100')).body.data as Array<{ id: string; name: string }>;
    const base = jobs.find((j) => j.name === baseName)!;
    const high = datasets.find((d) => d.name === 'digits 5-9')!;
    const job = { baseModelId: base.outputModelId, trainDatasetId: high.id, hyperparameters: { epochs: 2, validationSplit: 0.2 } };
    const posted = await http(h.app).post('/v1/sweeps').send({ name: 'head sweep', job, space: { learningRate: [0.05, 0.01] }, parallelism: 2, earlyStopping: false });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    await open(`#/sweeps/${posted.body.id}`);
    // Selectors and reads from here: a polled string predicate would be eval in the page, which its CSP refuses.
    await page.waitForSelector('#leaderboard tbody tr[data-status=succeeded] ~ tr[data-status=succeeded]', { timeout: 180_000 });
    let curves = await chartData(page, 'trials-chart');
    for (let i = 0; i < 100 && !(curves?.datasets.length === 2 && curves.datasets.every((d) => d.data.length === 2)); i++) {
      await new Promise((r) => setTimeout(r, 300));
      curves = await chartData(page, 'trials-chart');
    }
    assert.deepEqual(curves!.datasets.map((d) => d.label).sort(), ['trial 0', 'trial 1']);
    assert.deepEqual(curves!.datasets.map((d) => d.data.map((p) => p.x)), [[1, 2], [1, 2]]);
    assert.match((await page.locator('#sweep-facts').textContent())!, /1 computed, 1 reused/);
    await open('#/sweeps');
    await page.waitForSelector(`#sweeps-table tr[data-sweep-id="${posted.body.id}"][data-status=succeeded]`);
    assert.deepEqual(pageErrors, []);
  });

  it('loads the typed client\'s browser build (a fresh build of apps/client), and every API request comes from it', async () => {
    const fresh = await browser.newContext({ reducedMotion: 'reduce', acceptDownloads: true });
    try {
      const tab = await fresh.newPage();
      const errors: string[] = [];
      tab.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
      // Who called fetch: Chromium's DevTools protocol gives each request the script stack that made it.
      const cdp = await fresh.newCDPSession(tab);
      await cdp.send('Network.enable');
      const calls: Array<{ path: string; from?: string }> = [];
      cdp.on('Network.requestWillBeSent', (e) => {
        const { pathname } = new URL(e.request.url);
        if (pathname.startsWith('/v1/')) calls.push({ path: pathname, from: e.initiator.stack?.callFrames[0]?.url });
      });
      const served = tab.waitForResponse((r) => new URL(r.url()).pathname === '/dashboard/client.js');
      await tab.goto(`${baseUrl}/#/jobs/${ftId}`);
      const clientJs = await (await served).text();
      assert.ok(clientJs === (await bundleForBrowser()), 'the page loads a fresh build of apps/client (npm run client:bundle makes one)');
      await tab.fill('#key-input', h.tenant.apiKey);
      await tab.click('#key-form button[type=submit]');
      await tab.waitForSelector('main[data-view=job] [data-loaded=true]');
      const [download] = await Promise.all([tab.waitForEvent('download'), tab.locator('#checkpoints-table tbody tr').first().getByRole('button', { name: 'weights.bin' }).click()]);
      assert.ok((await readFile((await download.path())!)).byteLength > 0);
      await tab.goto(`${baseUrl}/#/models`);
      await tab.waitForSelector('#models-table tbody tr');

      const paths = calls.map((c) => c.path.replace(ftId, ':id'));
      for (const p of ['/v1/jobs/:id', '/v1/jobs/:id/metrics', '/v1/jobs/:id/checkpoints', '/v1/jobs/:id/checkpoints/1/weights.bin', '/v1/models']) {
        assert.ok(paths.includes(p), `${p} requested (got ${paths.join(', ')})`);
      }
      const elsewhere = calls.filter((c) => c.from !== `${baseUrl}/dashboard/client.js`);
      assert.deepEqual(elsewhere, [], 'every API request is made by the client\'s code');
      assert.deepEqual(errors, []);
    } finally {
      await fresh.close();
    }
  });

  it('asks for the key and shows no data without one; a wrong key shows the API\'s 401', async () => {
    const fresh = await browser.newContext({ reducedMotion: 'reduce' });
    try {
      const anon = await fresh.newPage();
      const apiCalls: string[] = [];
      anon.on('request', (req) => {
        if (new URL(req.url()).pathname.startsWith('/v1/')) apiCalls.push(req.url());
      });
      await anon.goto(`${baseUrl}/#/jobs/${ftId}`);
      await anon.waitForSelector('#key-form');
      assert.equal(await anon.locator('main').getAttribute('data-view'), 'key');
      assert.deepEqual(apiCalls, [], 'no API call without a key');
      assert.equal(await anon.locator('canvas, table').count(), 0);
      assert.doesNotMatch((await anon.content()), new RegExp(`${ftId}|fine-tuned 5-9|${baseName}`));

      await anon.fill('#key-input', 'ft_not-a-real-key');
      await anon.click('#key-form button[type=submit]');
      await anon.waitForSelector('#key-error:not([hidden])');
      assert.match((await anon.locator('#key-error').textContent())!, /401.*invalid_api_key/);
      assert.ok(apiCalls.length > 0, 'the wrong key was tried against the API');
      assert.equal(await anon.locator('canvas, table').count(), 0);
      assert.equal(await inPage(anon, 'sessionStorage.length + localStorage.length'), 0, 'the wrong key is forgotten');
    } finally {
      await fresh.close();
    }
  });
});
