// The dashboard's views: jobs list, job page, models. Each view renders into
// `root` and stops its polling and streams when `signal` aborts (navigation).
// Text goes in with textContent only: job and model names are user data.
import { client, errorText, first, saveBytes } from './api.js';
import { comparisonChart, confusionChart, curveChart, setCurves } from './charts.js';

const ACTIVE = new Set(['queued', 'running', 'paused']);
const POLL_MS = 3000;

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false).map((c) => (c instanceof Node ? c : String(c))));
  return el;
}

const shortId = (id) => id.slice(0, 8);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const num = (v, digits = 4) => (typeof v === 'number' ? v.toFixed(digits) : '—');
const pct = (v) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '—');
const secs = (ms) => (typeof ms === 'number' ? `${(ms / 1000).toFixed(1)} s` : '—');
const bytes = (n) => (n < 1024 ? `${n} B` : n < 2 ** 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);
const badge = (status) => h('span', { class: `badge ${status}` }, status);
const jobLink = (j) => h('a', { href: `#/jobs/${j.id}` }, j.name ?? shortId(j.id));
const modelLink = (id, name) => h('a', { href: `#/models/${id}` }, name ?? shortId(id));
const progress = (p) => h('span', { class: 'progress' }, h('progress', { max: 1, value: p.fraction }), ` ${p.epoch}/${p.totalEpochs}`);
const sleep = (ms, signal) => new Promise((r) => { const t = setTimeout(r, ms); signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true }); });

function table(id, head, rows) {
  return h('table', { id }, h('thead', {}, h('tr', {}, head.map((c) => h('th', {}, c)))), h('tbody', {}, rows));
}

function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(([, v]) => v !== undefined).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

/** Runs `tick` now and then every POLL_MS while it returns true, until navigation. */
async function poll(tick, signal) {
  while (!signal.aborted && (await tick())) await sleep(POLL_MS, signal);
}

// ── Jobs list ────────────────────────────────────────────────────────────────

export async function jobsView(root, signal) {
  const body = h('tbody');
  const summary = h('p', { class: 'muted' });
  root.replaceChildren(
    h('section', { class: 'card' },
      h('h2', {}, 'Jobs'),
      summary,
      h('table', { id: 'jobs-table' },
        h('thead', {}, h('tr', {}, ['Job', 'Kind', 'Status', 'Stage', 'Progress (epoch)', 'Created', 'Finished'].map((c) => h('th', {}, c)))),
        body)));
  await poll(async () => {
    const jobs = await first(client().jobs.all({ limit: 100 }, { signal }), 500);
    body.replaceChildren(...jobs.map((j) => h('tr', { dataset: { jobId: j.id, status: j.status } },
      h('td', {}, jobLink(j)),
      h('td', {}, j.type),
      h('td', {}, badge(j.status)),
      h('td', {}, j.stage ?? '—'),
      h('td', {}, progress(j.progress)),
      h('td', {}, when(j.createdAt)),
      h('td', {}, when(j.finishedAt)))));
    const active = jobs.filter((j) => ACTIVE.has(j.status)).length;
    summary.textContent = jobs.length === 0 ? 'No jobs yet: submit one with POST /v1/jobs.' : `${jobs.length} job(s), ${active} active${active ? ' (refreshing)' : ''}.`;
    return active > 0;
  }, signal);
}

// ── Job page ─────────────────────────────────────────────────────────────────

export async function jobView(root, id, signal) {
  const header = h('section', { class: 'card' });
  const lossCanvas = h('canvas', { id: 'loss-chart', 'aria-label': 'loss per epoch', role: 'img' });
  const accCanvas = h('canvas', { id: 'accuracy-chart', 'aria-label': 'accuracy per epoch', role: 'img' });
  const evaluation = h('section', { class: 'card', id: 'evaluation' }, h('h2', {}, 'Evaluation'), h('p', { class: 'muted' }, 'After training.'));
  const comparison = h('section', { class: 'card', id: 'comparison', hidden: true });
  const checkpoints = h('section', { class: 'card', id: 'checkpoints' });
  root.replaceChildren(
    header,
    h('section', { class: 'card' }, h('h2', {}, 'Training curves'),
      h('div', { class: 'charts' }, h('div', { class: 'chart' }, lossCanvas), h('div', { class: 'chart' }, accCanvas))),
    evaluation, comparison, checkpoints);
  const lossChart = curveChart(lossCanvas, { title: 'Loss', yTitle: 'loss' });
  const accChart = curveChart(accCanvas, { title: 'Accuracy', yTitle: 'accuracy', percent: true });
  signal.addEventListener('abort', () => { lossChart.destroy(); accChart.destroy(); }, { once: true });

  let evaluated = false;
  let latest = 0;
  const refresh = async () => {
    const seq = ++latest;
    const { jobs } = client();
    const [job, metrics, cps] = await Promise.all([jobs.get(id, { signal }), jobs.metrics(id, { signal }), jobs.checkpoints(id, { signal })]);
    if (seq !== latest) return job; // a newer refresh overtook this one: let it draw
    renderHeader(header, job);
    setCurves(lossChart, metrics.data, 'loss', 'valLoss');
    setCurves(accChart, metrics.data, 'accuracy', 'valAccuracy');
    renderCheckpoints(checkpoints, job, cps.data);
    if (job.evaluation && !evaluated) {
      evaluated = true;
      renderEvaluation(evaluation, job.evaluation, signal);
    }
    renderComparison(comparison, job, signal);
    root.dataset.status = job.status;
    return job;
  };

  const job = await refresh();
  root.dataset.loaded = 'true';
  if (!ACTIVE.has(job.status)) return;
  await follow(id, refresh, signal);
}

/**
 * Live: events (an epoch done, a status or stage change) refresh the page,
 * coalesced so that replaying a long log costs one refresh; polls if the stream breaks.
 */
async function follow(id, refresh, signal) {
  let after;
  let timer = null;
  const soon = () => {
    timer ??= setTimeout(() => {
      timer = null;
      refresh().catch(() => undefined); // the refresh after the stream reports errors
    }, 250);
  };
  while (!signal.aborted) {
    try {
      // The client's stream ends with the log's `end` event, and reconnects by itself after a drop.
      for await (const ev of client().jobs.stream(id, { after, signal })) {
        after = ev.id;
        soon();
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err.status === 401 || err.status === 403 || err.status === 404) throw err;
      await sleep(POLL_MS, signal);
    }
    clearTimeout(timer);
    timer = null;
    if (signal.aborted || !ACTIVE.has((await refresh()).status)) return;
  }
}

function renderHeader(section, job) {
  const best = job.bestCheckpoint;
  section.replaceChildren(
    h('h2', {}, job.name ?? `Job ${shortId(job.id)}`, ' ', badge(job.status)),
    dl([
      ['Job', h('code', {}, job.id)],
      ['Kind', job.type],
      ['Stage', job.stage],
      ['Progress', progress(job.progress)],
      ['Latest', job.latestMetrics ? `epoch ${job.latestMetrics.epoch}: loss ${num(job.latestMetrics.loss)}, accuracy ${pct(job.latestMetrics.accuracy)}, validation accuracy ${pct(job.latestMetrics.valAccuracy)}` : null],
      ['Lineage', lineage(job)],
      ['Best epoch', best ? `${best.epoch} (${best.metric} ${num(best.value)})${best.earlyStopped ? ', stopped early' : ''}` : null],
      ['Backend', job.backend],
      ['Attempts', String(job.attempts)],
      ['Created', when(job.createdAt)],
      ['Started', when(job.startedAt)],
      ['Finished', when(job.finishedAt)],
      ...(job.error ? [['Error', h('span', { class: 'error' }, `${job.error.code}: ${job.error.message}`)]] : []),
    ]),
  );
}

function lineage(job) {
  const parts = [];
  if (job.baseModelId) parts.push(modelLink(job.baseModelId, `base ${shortId(job.baseModelId)}`), ' → ');
  parts.push(h('strong', {}, `this job`));
  if (job.outputModelId) parts.push(' → ', modelLink(job.outputModelId, `${job.type === 'pretrain' ? 'base' : 'fine-tuned'} ${shortId(job.outputModelId)}`));
  return h('span', {}, parts);
}

function renderEvaluation(section, ev, signal) {
  const canvas = h('canvas', { id: 'confusion-chart', 'aria-label': 'confusion matrix', role: 'img' });
  section.replaceChildren(
    h('h2', {}, `Evaluation on the ${ev.split} set`),
    dl([['Examples', String(ev.numExamples)], ['Accuracy', pct(ev.accuracy)], ['Loss', num(ev.loss)]]),
    h('div', { class: 'charts' },
      h('div', { class: 'chart square' }, canvas),
      h('div', {},
        table('per-class-table', ['Class', 'Precision', 'Recall', 'F1', 'Support'],
          ev.perClass.map((c) => h('tr', {}, h('td', {}, c.label), h('td', {}, num(c.precision, 3)), h('td', {}, num(c.recall, 3)), h('td', {}, num(c.f1, 3)), h('td', {}, String(c.support)))))),
    ),
  );
  const chart = confusionChart(canvas, ev.labels, ev.confusionMatrix);
  signal.addEventListener('abort', () => chart.destroy(), { once: true });
}

function renderComparison(section, job, signal) {
  if (!job.spec.compareWithScratch) return;
  section.hidden = false;
  const cmp = job.evaluation?.comparison;
  if (!cmp) {
    section.replaceChildren(h('h2', {}, 'Fine-tuned vs from scratch'), h('p', { class: 'muted' }, 'The same architecture is trained from scratch after the fine-tuning; the comparison appears when the job ends.'));
    return;
  }
  if (section.querySelector('canvas')) return; // drawn once, when the job ended
  const canvas = h('canvas', { id: 'comparison-chart', 'aria-label': 'validation accuracy, fine-tuned vs from scratch', role: 'img' });
  const row = (name, s) => h('tr', {}, h('td', {}, name), h('td', {}, pct(s.testAccuracy)), h('td', {}, num(s.testLoss)), h('td', {}, secs(s.wallTimeMs)), h('td', {}, s.epochsToTarget === null ? 'not reached' : String(s.epochsToTarget)));
  section.replaceChildren(
    h('h2', {}, 'Fine-tuned vs from scratch'),
    h('div', { class: 'charts' },
      h('div', {}, table('comparison-table', ['Run', 'Test accuracy', 'Test loss', 'Wall time', `Epochs to ${pct(cmp.targetValAccuracy)} val. accuracy`], [row('fine-tuned', cmp.fineTuned), row('from scratch', cmp.scratch)])),
      h('div', { class: 'chart' }, canvas)),
  );
  const chart = comparisonChart(canvas, cmp);
  signal.addEventListener('abort', () => chart.destroy(), { once: true });
}

function renderCheckpoints(section, job, rows) {
  const best = job.bestCheckpoint?.epoch;
  const file = (epoch, name) => h('button', { type: 'button', class: 'link', onclick: (e) => saveFile(e.target, () => client().jobs.checkpointFile(job.id, epoch, name), `${shortId(job.id)}-epoch-${epoch}-${name}`) }, name);
  section.replaceChildren(
    h('h2', {}, 'Checkpoints'),
    rows.length === 0
      ? h('p', { class: 'muted' }, 'None yet: one is written after each epoch.')
      : table('checkpoints-table', ['Epoch', 'Size', 'Written', 'Download', 'Location'], rows.map((c) => h('tr', { class: c.epoch === best ? 'best' : undefined },
        h('td', {}, String(c.epoch), c.epoch === best ? ' (best: the output model)' : ''),
        h('td', {}, bytes(c.sizeBytes)),
        h('td', {}, when(c.createdAt)),
        h('td', {}, file(c.epoch, 'model.json'), ' ', file(c.epoch, 'weights.bin')),
        h('td', {}, h('code', {}, c.uri))))),
    job.outputModelId ? h('p', {}, 'Output model: ', signedLinks(job.outputModelId)) : null,
  );
}

async function saveFile(button, fetchBytes, filename) {
  button.disabled = true;
  try {
    saveBytes(await fetchBytes(), filename);
  } catch (err) {
    button.after(h('span', { class: 'error' }, ` ${errorText(err)}`));
  } finally {
    button.disabled = false;
  }
}

/** A button that asks the API for a short-lived signed URL, then shows keyless links. */
function signedLinks(modelId) {
  const out = h('span', { class: 'signed' });
  const button = h('button', {
    type: 'button',
    class: 'link',
    onclick: async () => {
      button.disabled = true;
      try {
        const { url, expiresAt } = await client().models.downloadUrl(modelId);
        const weights = url.replace('/model.json?', '/weights.bin?');
        out.replaceChildren(h('a', { href: url, download: 'model.json' }, 'model.json'), ' ', h('a', { href: weights, download: 'weights.bin' }, 'weights.bin'), h('span', { class: 'muted' }, ` (signed, until ${when(expiresAt)})`));
      } catch (err) {
        out.replaceChildren(h('span', { class: 'error' }, errorText(err)));
      }
    },
  }, 'get download links');
  out.append(button);
  return out;
}

// ── Models ──────────────────────────────────────────────────────────────────

export async function modelsView(root, signal, focus) {
  const models = await first(client().models.all({ limit: 100 }, { signal }), 1000);
  const byId = new Map(models.map((m) => [m.id, m]));
  const name = (id) => byId.get(id)?.name ?? shortId(id);
  const chain = (m) => {
    // Ancestors first: base → … → this model → the job that made it.
    const ids = [];
    for (let cur = m, seen = 0; cur && seen < 20; cur = byId.get(cur.lineage.parentModelId ?? ''), seen++) {
      ids.unshift(cur.id);
      if (cur.lineage.parentModelId && !byId.has(cur.lineage.parentModelId)) ids.unshift(cur.lineage.parentModelId);
    }
    const parts = ids.flatMap((id, i) => [i ? ' → ' : '', id === m.id ? h('strong', {}, name(id)) : modelLink(id, name(id))]);
    if (m.lineage.jobId) parts.push(' ← job ', h('a', { href: `#/jobs/${m.lineage.jobId}` }, shortId(m.lineage.jobId)));
    return h('span', { class: 'lineage' }, parts);
  };
  root.replaceChildren(h('section', { class: 'card' },
    h('h2', {}, 'Models'),
    models.length === 0 ? h('p', { class: 'muted' }, 'No models yet: register one with POST /v1/models, or train one.') : null,
    table('models-table', ['Model', 'Kind', 'Lineage (base → fine-tuned ← job)', 'Classes', 'Parameters (trainable / total)', 'Created', 'Download'],
      models.map((m) => h('tr', { id: m.id, class: m.id === focus ? 'focus' : undefined, dataset: { modelId: m.id } },
        h('td', {}, m.name, h('br'), h('code', {}, shortId(m.id))),
        h('td', {}, m.kind === 'base' ? 'base' : 'fine-tuned'),
        h('td', {}, chain(m)),
        h('td', {}, m.labels.length ? m.labels.join(', ') : '—'),
        h('td', {}, `${m.trainableParams.toLocaleString()} / ${m.totalParams.toLocaleString()}`),
        h('td', {}, when(m.createdAt)),
        h('td', {}, signedLinks(m.id)))))));
  root.dataset.loaded = 'true';
  if (focus) document.getElementById(focus)?.scrollIntoView({ block: 'center' });
}
