import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OtlpExportRequest } from './codec.js';
import { MAX_ARRAY_ITEMS, MAX_STRING_LENGTH, normalizeRequest } from './normalize.js';

const TRACE_ID = Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex');
const SPAN_ID = Buffer.from('b7ad6b7169203331', 'hex');

describe('normalizeRequest bounds what it keeps of a span', () => {
  it('cuts long strings, byte values and arrays; IDs and short values pass unchanged', () => {
    const long = 'd'.repeat(5 * MAX_STRING_LENGTH);
    const request = {
      resourceSpans: [
        {
          resource: {
            attributes: [{ key: 'service.name', value: { value: 'stringValue', stringValue: long } }],
          },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: TRACE_ID,
                  spanId: SPAN_ID,
                  name: `publish ${long}`,
                  kind: 4,
                  startTimeUnixNano: 1,
                  endTimeUnixNano: 2,
                  status: { code: 2, message: long },
                  attributes: [
                    { key: 'messaging.destination.name', value: { value: 'stringValue', stringValue: long } },
                    { key: 'messaging.message.id', value: { value: 'stringValue', stringValue: 'm-1' } },
                    { key: 'blob', value: { value: 'bytesValue', bytesValue: Buffer.alloc(10_000, 7) } },
                    {
                      key: 'list',
                      value: {
                        value: 'arrayValue',
                        arrayValue: {
                          values: Array.from({ length: 1000 }, () => ({
                            value: 'stringValue',
                            stringValue: long,
                          })),
                        },
                      },
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    } as unknown as OtlpExportRequest;
    const [span] = normalizeRequest(request).spans;
    assert.ok(span);
    assert.equal(span.serviceName.length, MAX_STRING_LENGTH);
    assert.equal(span.name.length, MAX_STRING_LENGTH);
    assert.equal(span.status.message?.length, MAX_STRING_LENGTH);
    assert.equal(span.attributes['messaging.destination.name'], long.slice(0, MAX_STRING_LENGTH));
    assert.equal(span.attributes['messaging.message.id'], 'm-1');
    assert.ok(String(span.attributes.blob).length <= MAX_STRING_LENGTH);
    const list = span.attributes.list as string[];
    assert.equal(list.length, MAX_ARRAY_ITEMS);
    assert.ok(list.every((item) => item.length === MAX_STRING_LENGTH));
    assert.equal(span.traceId, TRACE_ID.toString('hex'));
  });
});
