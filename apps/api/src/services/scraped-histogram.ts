// A Prometheus histogram whose buckets are counted elsewhere (in Postgres, at
// scrape time) rather than observed in this process. prom-client's Histogram
// can only observe, so this gives a registry the same shape its get() returns.
import type { Metric, Registry } from 'prom-client';
import type { HistogramSeries } from './metrics-sources.ts';

export class ScrapedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private series: HistogramSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  set(series: HistogramSeries[]): void {
    this.series = series;
  }

  reset(): void {
    this.series = [];
  }

  async get() {
    const values = this.series.flatMap(({ labels, counts, count, sum }) => [
      ...this.buckets.map((le, i) => ({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: counts[i] })),
      { metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count },
      { metricName: `${this.name}_sum`, labels, value: sum },
      { metricName: `${this.name}_count`, labels, value: count },
    ]);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
