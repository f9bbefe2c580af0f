/**
 * Random (version 4) UUIDs for the correlation and message IDs hoptrace creates.
 *
 * `crypto.randomUUID()` assembles its string from about twenty concatenations, roughly 500 bytes of
 * garbage per ID, and hoptrace makes two per message (the correlation ID of a new flow and the message
 * ID): on the Kafka and AMQP benchmarks that was the largest allocation of hoptrace's own. This writes
 * the 36 characters into a buffer and decodes them once. Same format, same source of randomness
 * (`crypto.randomFillSync`, in batches as `randomUUID` does).
 */
import { randomFillSync } from 'node:crypto';

const BATCH = 256;
const random = Buffer.alloc(16 * BATCH);
let next = BATCH;
const text = Buffer.alloc(36);
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const DASH = 0x2d;

export function randomId(): string {
  if (next === BATCH) {
    randomFillSync(random);
    next = 0;
  }
  const offset = 16 * next++;
  let at = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text[at++] = DASH;
    let byte = random[offset + i] as number;
    if (i === 6)
      byte = (byte & 0x0f) | 0x40; // version 4
    else if (i === 8) byte = (byte & 0x3f) | 0x80; // RFC 4122 variant
    text[at++] = HEX[byte >> 4] as number;
    text[at++] = HEX[byte & 0x0f] as number;
  }
  return text.toString('latin1', 0, 36);
}
