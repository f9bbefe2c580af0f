/**
 * Runs the RabbitMQ orders example against a broker (e.g. the stack's: `npm run stack -- up`).
 *
 *   node dist/examples/rabbitmq/main.js                   # everything in one process, then a summary
 *   node dist/examples/rabbitmq/main.js workers           # billing, shipping, inventory, email, dlq-audit until Ctrl-C
 *   node dist/examples/rabbitmq/main.js storefront 5      # place 5 orders and exit
 *
 * Environment: HOPTRACE_AMQP_URL (default amqp://guest:guest@127.0.0.1:35672), OTEL_EXPORTER_OTLP_ENDPOINT
 * (optional, e.g. http://127.0.0.1:4318, to see the traces in Jaeger or the hoptrace collector).
 */
import { randomBytes } from 'node:crypto';
import { formatRabbitDemoSummary, runRabbitDemo } from '../../cli/demo/rabbitmq.js';
import { startStorefront, startWorker } from '../../cli/demo/rabbitmq-services.js';
import { demoTopology } from '../../cli/demo/rabbitmq-topology.js';
import { setupTelemetry } from '../../cli/demo/telemetry.js';

const url = process.env.HOPTRACE_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:35672';
const [role = 'all', count = '3'] = process.argv.slice(2);
const telemetry = setupTelemetry({
  serviceName: `hoptrace-example-${role}`,
  otlpUrl: process.env.OTEL_EXPORTER_OTLP_ENDPOINT,
  keepSpans: false,
});
const options = { url, topology: demoTopology() };

try {
  if (role === 'all') {
    console.log(formatRabbitDemoSummary(await runRabbitDemo({ url, orders: Number(count) })));
  } else if (role === 'workers') {
    const workers = [];
    for (const worker of ['billing', 'shipping', 'inventory', 'email', 'dlq-audit'] as const) {
      workers.push(
        await startWorker(worker, options, (e) =>
          console.log(
            `${e.worker}: order ${e.order.orderId}${e.deadLetter ? ` (dead letter: ${e.deadLetter.reason})` : ''}`,
          ),
        ),
      );
    }
    console.log('workers running; Ctrl-C stops');
    await new Promise((resolve) => process.once('SIGINT', resolve));
    for (const w of workers) await w.close();
  } else if (role === 'storefront') {
    const storefront = await startStorefront(options);
    const run = randomBytes(2).toString('hex');
    for (let n = 1; n <= Number(count); n++) {
      const orderId = `${run}-${n}`;
      const email = n % 3 === 0 ? `customer${n}@example.invalid` : `customer${n}@example.com`;
      await storefront.placeOrder(
        { orderId, sku: 'SKU-1', quantity: 1, amountCents: 1999, email },
        `order-${orderId}`,
      );
      console.log(`placed order ${orderId}`);
    }
    await storefront.close();
  } else {
    console.error(`unknown role "${role}": use all, workers or storefront`);
    process.exitCode = 2;
  }
} finally {
  await telemetry.shutdown();
}
