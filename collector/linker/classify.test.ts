import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SpanRecord } from '../types.js';
import { roleOf } from './classify.js';

function span(kind: SpanRecord['kind'], attributes: SpanRecord['attributes']): SpanRecord {
  return {
    traceId: '0'.repeat(31) + '1',
    spanId: '0'.repeat(15) + '1',
    parentSpanId: undefined,
    name: 'x',
    kind,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes,
    links: [],
    serviceName: 'svc',
    status: { code: 'unset' },
  };
}

describe('roleOf', () => {
  it("ignores the Pub/Sub client's own spans, which have no operation type", () => {
    const client = {
      'messaging.system': 'gcp_pubsub',
      'messaging.operation': 'create',
      'gcp.project_id': 'p',
    };
    assert.equal(roleOf(span('producer', client)), undefined);
    assert.equal(roleOf(span('consumer', { ...client, 'messaging.operation': 'receive' })), undefined);
  });

  it("keeps hoptrace's Pub/Sub spans and other systems' spans without an operation type", () => {
    const ours = { 'messaging.system': 'gcp_pubsub' };
    assert.equal(roleOf(span('producer', { ...ours, 'messaging.operation.type': 'send' })), 'publish');
    assert.equal(roleOf(span('consumer', { ...ours, 'messaging.operation.type': 'process' })), 'delivery');
    assert.equal(roleOf(span('producer', { 'messaging.system': 'kafka' })), 'publish');
  });
});
