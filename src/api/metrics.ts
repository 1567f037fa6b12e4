// Prometheus metrics on an optional address (prom-client: the standard exposition format
// without hand-written text rendering). Gauges that derive from state are computed on scrape.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly appends = new Counter({ name: 'chronicle_events_appended_total', help: 'Events appended to the log', registers: [this.registry] });
  readonly appendLatency = new Histogram({
    name: 'chronicle_append_seconds',
    help: 'Time from append to durable commit',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  readonly subscribers = new Gauge({ name: 'chronicle_subscribers', help: 'Open event subscriptions', registers: [this.registry] });
  readonly headSeq = new Gauge({ name: 'chronicle_log_head_seq', help: 'Seq of the last committed event', registers: [this.registry] });
  readonly tasks: Gauge;

  readonly exportLag: Gauge;

  constructor(tasksByState: () => Record<string, number>, head: () => number, exportLag: () => number | undefined = () => undefined) {
    this.exportLag = new Gauge({
      name: 'chronicle_export_lag_events',
      help: 'Events committed locally and not yet acknowledged by the fleet stream (absent when export is off)',
      registers: [this.registry],
      collect: () => {
        const lag = exportLag();
        if (lag === undefined) this.exportLag.reset();
        else this.exportLag.set(lag);
      },
    });
    this.tasks = new Gauge({
      name: 'chronicle_tasks',
      help: 'Tasks by state',
      labelNames: ['state'],
      registers: [this.registry],
      collect: () => {
        this.tasks.reset();
        for (const [state, n] of Object.entries(tasksByState())) this.tasks.set({ state }, n);
      },
    });
    this.headSeq.set(head());
    this.#head = head;
  }

  readonly #head: () => number;

  async render(): Promise<string> {
    this.headSeq.set(this.#head());
    return this.registry.metrics();
  }

  /** Serves GET /metrics on host:port; resolves with the server once listening. */
  async listen(address: string): Promise<Server> {
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i);
    const port = Number(address.slice(i + 1));
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.render().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
    return server;
  }
}
