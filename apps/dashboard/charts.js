// Chart.js charts: training curves, the confusion-matrix heatmap
// (chartjs-chart-matrix) and the fine-tuned vs from-scratch comparison.
// Chart and the matrix controller are globals from /assets/*.js.
const { Chart } = window;

const BLUE = '#2563eb';
const ORANGE = '#ea580c';
const GREY = '#6b7280';

// Users who ask for less motion (and the browser test) get charts drawn at once.
if (window.matchMedia('(prefers-reduced-motion: reduce)').matches) Chart.defaults.animation = false;
Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
Chart.defaults.plugins.legend.labels.usePointStyle = true;

const epochAxis = { type: 'linear', title: { display: true, text: 'epoch' }, ticks: { stepSize: 1, precision: 0 }, min: 1 };

/** A train/validation curve chart; fill it with setCurves. */
export function curveChart(canvas, { title, yTitle, percent }) {
  const line = (label, color, dashed) => ({ label, data: [], borderColor: color, backgroundColor: color, borderDash: dashed ? [6, 4] : [], pointRadius: 3, tension: 0.2 });
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: [line(`train ${yTitle}`, BLUE, false), line(`validation ${yTitle}`, ORANGE, true)] },
    options: {
      maintainAspectRatio: false,
      parsing: false,
      scales: {
        x: epochAxis,
        y: { title: { display: true, text: yTitle }, ...(percent ? { suggestedMin: 0, suggestedMax: 1 } : {}) },
      },
      plugins: { title: { display: true, text: title } },
    },
  });
}

/** One point per epoch from GET /v1/jobs/:id/metrics; a series with no values is hidden. */
export function setCurves(chart, metrics, trainKey, valKey) {
  const points = (key) => metrics.filter((m) => m[key] !== null && m[key] !== undefined).map((m) => ({ x: m.epoch, y: m[key] }));
  const [train, val] = chart.data.datasets;
  train.data = points(trainKey);
  val.data = points(valKey);
  train.hidden = train.data.length === 0;
  val.hidden = val.data.length === 0;
  chart.options.scales.x.max = Math.max(2, metrics.at(-1)?.epoch ?? 1);
  chart.update();
}

function heat(fraction) {
  // White to blue: readable counts on light cells, and on dark ones via the label colour.
  const a = 0.06 + 0.94 * fraction;
  return `rgba(37, 99, 235, ${a.toFixed(3)})`;
}

// Writes each cell's count in it (the matrix controller draws only the cells).
const cellCounts = {
  id: 'cellCounts',
  afterDatasetsDraw(chart) {
    const meta = chart.getDatasetMeta(0);
    const { data } = chart.data.datasets[0];
    const max = Math.max(1, ...data.map((d) => d.v));
    const { ctx } = chart;
    ctx.save();
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.font = `12px ${Chart.defaults.font.family}`;
    meta.data.forEach((el, i) => {
      const { x, y } = el.getCenterPoint();
      ctx.fillStyle = data[i].v / max > 0.5 ? '#fff' : '#111827';
      ctx.fillText(String(data[i].v), x, y);
    });
    ctx.restore();
  },
};

/** rows: true class, columns: predicted class, as the evaluation stores it. */
export function confusionChart(canvas, labels, matrix) {
  const data = matrix.flatMap((row, t) => row.map((v, p) => ({ x: labels[p], y: labels[t], v })));
  const max = Math.max(1, ...data.map((d) => d.v));
  const n = labels.length;
  const cell = (size) => ({ chart }) => ((chart.chartArea?.[size] ?? 0) / n) - 2;
  return new Chart(canvas, {
    type: 'matrix',
    data: {
      datasets: [{
        label: 'confusion matrix',
        data,
        backgroundColor: (c) => heat((c.dataset.data[c.dataIndex]?.v ?? 0) / max),
        borderColor: '#e5e7eb',
        borderWidth: 1,
        width: cell('width'),
        height: cell('height'),
      }],
    },
    options: {
      maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        title: { display: true, text: 'Confusion matrix (rows: true class, columns: predicted)' },
        tooltip: { callbacks: { title: () => '', label: (c) => `true ${c.raw.y}, predicted ${c.raw.x}: ${c.raw.v}` } },
      },
      scales: {
        x: { type: 'category', labels, offset: true, grid: { display: false }, title: { display: true, text: 'predicted' } },
        // First class in the top row, as the matrix is written.
        y: { type: 'category', labels, offset: true, reverse: true, grid: { display: false }, title: { display: true, text: 'true' } },
      },
    },
    plugins: [cellCounts],
  });
}

/** Validation accuracy per epoch, fine-tuned beside from scratch, with the target. */
export function comparisonChart(canvas, cmp) {
  const series = (label, values, color, dashed) => ({
    label,
    data: values.map((y, i) => ({ x: i + 1, y })).filter((p) => p.y !== null),
    borderColor: color,
    backgroundColor: color,
    borderDash: dashed ? [6, 4] : [],
    pointRadius: 3,
  });
  const epochs = Math.max(cmp.fineTuned.valAccuracyByEpoch.length, cmp.scratch.valAccuracyByEpoch.length);
  const target = { label: `target ${cmp.targetValAccuracy}`, data: [{ x: 1, y: cmp.targetValAccuracy }, { x: Math.max(2, epochs), y: cmp.targetValAccuracy }], borderColor: GREY, borderDash: [2, 3], pointRadius: 0 };
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: [series('fine-tuned', cmp.fineTuned.valAccuracyByEpoch, BLUE, false), series('from scratch', cmp.scratch.valAccuracyByEpoch, ORANGE, true), target] },
    options: {
      maintainAspectRatio: false,
      parsing: false,
      scales: { x: { ...epochAxis, max: Math.max(2, epochs) }, y: { title: { display: true, text: 'validation accuracy' }, suggestedMin: 0, suggestedMax: 1 } },
      plugins: { title: { display: true, text: 'Validation accuracy: fine-tuned vs from scratch' } },
    },
  });
}

const PALETTE = [BLUE, ORANGE, '#16a34a', '#9333ea', '#dc2626', '#0891b2', '#ca8a04', '#db2777', GREY];

/** One line per trial of a sweep: the objective metric by epoch. */
export function trialsChart(canvas, metric) {
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: { maintainAspectRatio: false, parsing: false, scales: { x: { ...epochAxis }, y: { title: { display: true, text: metric } } }, plugins: { title: { display: true, text: `${metric} per trial` } } },
  });
}

export function setTrialCurves(chart, trials) {
  chart.data.datasets = trials.map((t, i) => {
    const color = PALETTE[i % PALETTE.length];
    return { label: t.label, data: t.points, borderColor: color, backgroundColor: color, pointRadius: 2, tension: 0.2 };
  });
  chart.options.scales.x.max = Math.max(2, ...trials.flatMap((t) => t.points.map((p) => p.x)));
  chart.update();
}
