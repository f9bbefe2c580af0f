/** `hoptrace demo --broker sqs` on the emulator: fan-out to three queues, one order redriven to the DLQ. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { requireServer } from '../../helpers/env.js';
import { clientConfig, sqsEndpoint } from './helpers.js';

const cli = join(import.meta.dirname, '..', '..', '..', 'cli', 'index.js');

describe('hoptrace demo --broker sqs', () => {
  it('prints each journey: three queues, the third order retried then read from the DLQ', async (t) => {
    const probe = new SQSClient(clientConfig());
    if (!(await requireServer(t, 'the SQS/SNS emulator (moto)', () => probe.send(new ListQueuesCommand({})))))
      return;
    const run = spawnSync(
      process.execPath,
      [cli, 'demo', '--broker', 'sqs', '--orders', '3', '--sqs-endpoint', sqsEndpoint()],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(run.status, 0, run.stderr);
    const out = run.stdout;
    assert.match(out, /Journey order-\w+-1: 1 publish, 3 deliveries\n/);
    assert.match(out, /Journey order-\w+-3: 1 publish, 5 deliveries, 1 retry, 1 dead-lettered/);
    const order3 = out.slice(out.search(/Journey order-\w+-3/), out.indexOf('Metrics'));
    assert.match(order3, /attempt 1: retry/);
    assert.match(order3, /attempt 2: retry/);
    assert.match(
      order3,
      /fraud-review .* from the dead-letter queue \(delivery_limit in hoptrace-demo-fraud-check-/,
    );
    assert.match(out, /dead-lettered\s+hoptrace-demo-fraud-check-dlq-\w+ \(delivery_limit\)=1/);
    assert.match(out, /in flight\s+0/);
  });
});
