import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AttributeMap,
  encodeAttributes,
  fromXrayHeader,
  md5OfAttributes,
  nameMatcher,
  PACKED_ATTRIBUTE,
  parseEnvelope,
  readCarrier,
  toXrayHeader,
  unpack,
} from './attributes.js';
import { deadLetterAttempt, maxReceiveCountOf } from './dead-letter.js';
import { operationOf, queueNameOf, withInput } from './utils.js';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const added = { traceparent: TP, 'x-correlation-id': 'c-1', 'x-hoptrace-published-at': '1700000000000' };

function userAttributes(n: number): AttributeMap {
  const out: AttributeMap = {};
  for (let i = 0; i < n; i++) out[`a${i}`] = { DataType: 'String', StringValue: `v${i}` };
  return out;
}

describe('encodeAttributes: the 10-attribute rule', () => {
  it('adds separate attributes when they fit, leaving the caller object alone', () => {
    const user = userAttributes(7);
    const before = JSON.stringify(user);
    const e = encodeAttributes({ attributes: user, added, bytes: 10 });
    assert.equal(e.mode, 'attributes');
    assert.equal(Object.keys(e.attributes ?? {}).length, 10);
    assert.equal(e.attributes?.traceparent?.StringValue, TP);
    assert.equal(JSON.stringify(user), before);
  });

  it('packs into one attribute when only one slot is free', () => {
    const e = encodeAttributes({ attributes: userAttributes(9), added, bytes: 10 });
    assert.equal(e.mode, 'packed');
    assert.equal(Object.keys(e.attributes ?? {}).length, 10);
    assert.deepEqual(unpack(e.attributes?.[PACKED_ATTRIBUTE]?.StringValue), added);
  });

  it('adds nothing with 10 (or more) user attributes, or when the size limit would be crossed', () => {
    const ten = userAttributes(10);
    assert.equal(encodeAttributes({ attributes: ten, added, bytes: 10 }).attributes, ten);
    assert.equal(encodeAttributes({ attributes: ten, added, bytes: 10 }).mode, 'none');
    assert.equal(encodeAttributes({ attributes: userAttributes(11), added, bytes: 10 }).mode, 'none');
    assert.equal(encodeAttributes({ attributes: undefined, added, bytes: 262_100 }).mode, 'none');
  });

  it('treats a caller that set every header as already propagating', () => {
    const e = encodeAttributes({ attributes: undefined, added: {}, bytes: 0 });
    assert.equal(e.mode, 'attributes');
    assert.equal(e.attributes, undefined);
  });
});

describe('X-Ray trace header', () => {
  it('round-trips a W3C traceparent', () => {
    const header = toXrayHeader(TP);
    assert.equal(header, 'Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1');
    assert.equal(fromXrayHeader(header), TP);
    assert.equal(fromXrayHeader('Root=1-0af76519-16cd43dd8448eb211c80319c;Sampled=1'), undefined);
    assert.equal(fromXrayHeader('garbage'), undefined);
    assert.equal(toXrayHeader('nope'), undefined);
  });
});

describe('readCarrier', () => {
  it('reads separate attributes, then the packed one, then AWSTraceHeader', () => {
    const attrs: AttributeMap = {
      'x-correlation-id': { DataType: 'String', StringValue: 'own' },
      [PACKED_ATTRIBUTE]: {
        DataType: 'String',
        StringValue: JSON.stringify({ 'x-correlation-id': 'packed', traceparent: TP }),
      },
    };
    const c = readCarrier(attrs, {}, 'body');
    assert.equal(c.headers['x-correlation-id'], 'own');
    assert.equal(c.headers.traceparent, TP);
    const x = readCarrier(undefined, { AWSTraceHeader: toXrayHeader(TP) as string }, 'body');
    assert.equal(x.headers.traceparent, TP);
  });

  it('flags an unreadable packed attribute and ignores binary attributes', () => {
    const c = readCarrier(
      {
        [PACKED_ATTRIBUTE]: { DataType: 'String', StringValue: '{not json' },
        traceparent: { DataType: 'Binary', BinaryValue: Buffer.from(TP) },
      },
      {},
      undefined,
    );
    assert.equal(c.packedInvalid, true);
    assert.equal(c.headers.traceparent, undefined);
  });

  it('reads an SNS envelope', () => {
    const body = JSON.stringify({
      Type: 'Notification',
      MessageId: 'sns-1',
      TopicArn: 'arn:aws:sns:us-east-1:1:orders',
      Message: 'x',
      Timestamp: '2026-01-01T00:00:00.123Z',
      MessageAttributes: { traceparent: { Type: 'String', Value: TP }, n: { Type: 'Number', Value: '1' } },
    });
    const c = readCarrier(undefined, {}, body);
    assert.equal(c.headers.traceparent, TP);
    assert.equal(c.headers.n, undefined);
    assert.equal(c.envelope?.timestamp, Date.parse('2026-01-01T00:00:00.123Z'));
    assert.equal(parseEnvelope('{"TopicArn": 1}'), undefined);
    assert.equal(parseEnvelope('{"Type":"Notification","TopicArn":"a"'), undefined);
  });
});

describe('helpers', () => {
  it('computes MD5OfMessageAttributes as SQS does (value from moto)', () => {
    assert.equal(
      md5OfAttributes({ a: { DataType: 'String', StringValue: '1' } }),
      '314c77b249893c6b3c765a42cc08b245',
    );
  });

  it('matches requested attribute names', () => {
    const m = nameMatcher(['kind', 'trace.*']);
    assert.equal(m('kind'), true);
    assert.equal(m('trace.id'), true);
    assert.equal(m('other'), false);
    assert.equal(nameMatcher(['All'])('x'), true);
    assert.equal(nameMatcher(undefined)('x'), false);
  });

  it('reads queue names, operations, redrive policies and dead-letter attempts', () => {
    assert.equal(queueNameOf('http://127.0.0.1:34566/123456789012/orders.fifo'), 'orders.fifo');
    assert.equal(operationOf({ schema: [9, 'com.amazonaws.sqs', 'SendMessage'] }), 'SendMessage');
    class ReceiveMessageCommand {}
    assert.equal(operationOf(new ReceiveMessageCommand()), 'ReceiveMessage');
    const command = { input: { a: 1 }, extra: 2 };
    const copy = withInput(command, { a: 2 });
    assert.deepEqual([copy.input, command.input, copy.extra], [{ a: 2 }, { a: 1 }, 2]);
    assert.equal(maxReceiveCountOf('{"deadLetterTargetArn":"x","maxReceiveCount":2}'), 2);
    assert.equal(maxReceiveCountOf('{'), undefined);
    const sources = [{ name: 'orders', maxReceiveCount: 2 }];
    assert.deepEqual(deadLetterAttempt(3, sources), { attempt: 1, first: true });
    assert.deepEqual(deadLetterAttempt(4, sources), { attempt: 2, first: false });
    assert.deepEqual(deadLetterAttempt(1, sources), { attempt: 1, first: true });
  });
});
