// The dashboard's sweep views (docs/sweeps.md): the sweeps list, and a sweep's
// page: its facts, the leaderboard, and every trial's curve of the objective.
// Text goes in with textContent only (h): names and params are user data.
import { client } from './api.js';
import { trialsChart, setTrialCurves } from './charts.js';
import { h } from './views.js';

const POLL_MS = 3000;
const shortId = (id) => id.slice(0, 8);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const num = (v) => (typeof v === 'number' ? v.toFixed(4) : '—');
const badge = (status) => h('span', { class: `badge ${status}` }, status);
const sleep = (ms, signal) => new Promise((r) => { const t = setTimeout(r, ms); signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true }); });
const params = (p) => Object.entries(p).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');

async function poll(tick, signal) {
  while (!signal.aborted && (await tick())) await sleep(POLL_MS, signal);
}

export async function sweepsView(root, signal) {
  const body = h('tbody');
  const summary = h('p', { class: 'muted' });
  root.replaceChildren(h('section', { class: 'card' }, h('h2', {}, 'Sweeps'), summary,
    h('table', { id: 'sweeps-table' }, h('thead', {}, h('tr', {}, ['Sweep', 'Status', 'Trials', 'Best', 'Created'].map((c) => h('th', {}, c)))), body)));
  await poll(async () => {
    const page = await client().sweeps.list({ limit: 100 }, { signal });
    body.replaceChildren(...page.data.map((s) => h('tr', { dataset: { sweepId: s.id, status: s.status } },
      h('td', {}, h('a', { href: `#/sweeps/${s.id}` }, s.name ?? shortId(s.id))),
      h('td', {}, badge(s.status)),
      h('td', {}, `${s.trials.succeeded + s.trials.failed + s.trials.cancelled}/${s.maxTrials}`),
      h('td', {}, s.bestTrial ? `${s.objective.metric} ${num(s.bestTrial.objective)}` : '—'),
      h('td', {}, when(s.createdAt)))));
    summary.textContent = page.data.length === 0 ? 'No sweeps yet: start one with POST /v1/sweeps.' : `${page.data.length} sweep(s).`;
    return page.data.some((s) => s.status === 'running');
  }, signal);
}

function leaderboardRow(t, rank) {
  return h('tr', { dataset: { trial: t.index, status: t.status } },
    h('td', {}, t.objective === null ? '—' : rank + 1),
    h('td', {}, t.jobId ? h('a', { href: `#/jobs/${t.jobId}` }, `trial ${t.index}`) : `trial ${t.index}`),
    h('td', {}, badge(t.status), t.stoppedEarly ? ` stopped at ${t.prunedAtEpoch}` : ''),
    h('td', {}, num(t.objective)),
    h('td', {}, t.epochsRun),
    h('td', {}, t.compute?.exampleLayers ?? '—'),
    h('td', {}, t.features ?? '—'),
    h('td', {}, params(t.params)));
}

export async function sweepView(root, id, signal) {
  const facts = h('dl', { class: 'facts', id: 'sweep-facts' });
  const title = h('h2');
  const body = h('tbody');
  const canvas = h('canvas', { id: 'trials-chart', 'aria-label': 'objective per epoch of each trial', role: 'img' });
  root.replaceChildren(
    h('section', { class: 'card' }, title, facts),
    h('section', { class: 'card' }, h('h2', {}, 'Trials'), h('div', { class: 'chart' }, canvas)),
    h('section', { class: 'card' }, h('h2', {}, 'Leaderboard'),
      h('table', { id: 'leaderboard' }, h('thead', {}, h('tr', {}, ['Rank', 'Trial', 'Status', 'Objective', 'Epochs', 'Compute', 'Features', 'Params'].map((c) => h('th', {}, c)))), body)));
  let chart;
  signal.addEventListener('abort', () => chart?.destroy(), { once: true });
  await poll(async () => {
    const s = await client().sweeps.get(id, { signal });
    title.replaceChildren(s.name ?? `Sweep ${shortId(s.id)}`, ' ', badge(s.status));
    const pairs = [
      ['Objective', `${s.objective.metric} (${s.objective.direction})`], ['Method', `${s.method}, ${s.maxTrials} trials, ${s.parallelism} at once`],
      ['Feature passes', `${s.featurePasses.computed} computed, ${s.featurePasses.reused} reused`], ['Stopped early', s.trials.stoppedEarly],
      ['Output model', s.outputModelId ? h('a', { href: `#/models/${s.outputModelId}` }, shortId(s.outputModelId)) : '—'], ['Compute', s.computeUsed],
      ...(s.error ? [['Error', `${s.error.code}: ${s.error.message}`]] : []),
    ];
    facts.replaceChildren(...pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
    body.replaceChildren(...s.leaderboard.map(leaderboardRow));
    const started = s.leaderboard.filter((t) => t.jobId);
    const metrics = await Promise.all(started.map((t) => client().jobs.metrics(t.jobId, { signal })));
    chart ??= trialsChart(canvas, s.objective.metric);
    setTrialCurves(chart, started.map((t, i) => ({ label: `trial ${t.index}`, points: metrics[i].data.map((m) => ({ x: m.epoch, y: m[s.objective.metric] })).filter((p) => p.y !== null) })));
    return s.status === 'running';
  }, signal);
}
