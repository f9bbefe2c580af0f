import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from './command.js';
import { redactUrl, urlFlag } from './flags.js';

describe('URLs in messages never show a password', () => {
  it('redactUrl replaces the password of a valid URL', () => {
    assert.equal(redactUrl('amqp://guest:s3cret@127.0.0.1:5672/vh'), 'amqp://guest:***@127.0.0.1:5672/vh');
    assert.equal(redactUrl('http://127.0.0.1:4318'), 'http://127.0.0.1:4318/');
    assert.equal(redactUrl('not a url'), '(invalid URL)');
  });

  it('urlFlag echoes an unparsable URL without its user info', () => {
    assert.throws(
      () => urlFlag('otlp', 'http://user:s3cret@bad host:4318', 'http://127.0.0.1:4318'),
      (err: unknown) =>
        err instanceof UsageError &&
        !err.message.includes('s3cret') &&
        err.message.includes('//***@bad host'),
    );
  });
});
