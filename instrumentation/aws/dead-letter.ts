/**
 * Which queues are dead-letter queues. SQS moves a message that was received `maxReceiveCount` times to
 * the queue its `RedrivePolicy` names, keeping its message ID and attributes (hoptrace's context
 * included), but the message says nothing about the move (AWS adds `DeadLetterQueueSourceArn` only when
 * asked; moto never). So the first receive from a queue asks `ListDeadLetterSourceQueues` and the sources'
 * `RedrivePolicy`, cached per queue for 5 minutes. A failed lookup (e.g. a missing IAM permission) is
 * logged once and treated as "not a dead-letter queue".
 */
import type { Guard } from '../transport/index.js';
import { queueNameOf } from './utils.js';

export interface DeadLetterSource {
  name: string;
  maxReceiveCount: number | undefined;
}

type Send = (command: unknown) => Promise<unknown>;

const TTL_MS = 5 * 60_000;
const LOOKUP_WAIT_MS = 2_000;
const MAX_SOURCES = 10;

interface SqsCommands {
  ListDeadLetterSourceQueuesCommand: new (input: object) => unknown;
  GetQueueAttributesCommand: new (input: object) => unknown;
}

let commands: Promise<SqsCommands> | undefined;
function sqsCommands(): Promise<SqsCommands> {
  commands ??= import('@aws-sdk/client-sqs') as unknown as Promise<SqsCommands>;
  return commands;
}

export class DeadLetterQueues {
  private readonly cache = new Map<string, { at: number; sources: Promise<DeadLetterSource[]> }>();

  constructor(
    private readonly send: Send,
    private readonly guard: Guard,
  ) {}

  /**
   * The queues that dead-letter into `queueUrl` (empty for an ordinary queue). Never rejects; waits at most
   * 2 s (a slower lookup still fills the cache for the next receive).
   */
  async sourcesOf(queueUrl: string): Promise<DeadLetterSource[]> {
    const now = Date.now();
    let entry = this.cache.get(queueUrl);
    if (!entry || now - entry.at > TTL_MS) {
      entry = { at: now, sources: this.lookup(queueUrl) };
      this.cache.set(queueUrl, entry);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<DeadLetterSource[]>((resolve) => {
      timer = setTimeout(() => resolve([]), LOOKUP_WAIT_MS);
      timer.unref();
    });
    try {
      return await Promise.race([entry.sources, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async lookup(queueUrl: string): Promise<DeadLetterSource[]> {
    try {
      const sdk = await sqsCommands();
      const listed = (await this.send(new sdk.ListDeadLetterSourceQueuesCommand({ QueueUrl: queueUrl }))) as {
        queueUrls?: string[];
      };
      const urls = (listed.queueUrls ?? []).slice(0, MAX_SOURCES);
      return await Promise.all(
        urls.map(async (url) => {
          const attrs = (await this.send(
            new sdk.GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }),
          )) as { Attributes?: Record<string, string> };
          return {
            name: queueNameOf(url),
            maxReceiveCount: maxReceiveCountOf(attrs.Attributes?.RedrivePolicy),
          };
        }),
      );
    } catch (err) {
      this.guard.warnOnce(
        `dlq:${queueUrl}`,
        `cannot tell whether ${queueNameOf(queueUrl)} is a dead-letter queue (${(err as Error)?.name ?? err}); its deliveries are not marked as dead letters`,
      );
      return [];
    }
  }
}

export function maxReceiveCountOf(redrivePolicy: string | undefined): number | undefined {
  if (typeof redrivePolicy !== 'string') return undefined;
  try {
    const n = Number((JSON.parse(redrivePolicy) as { maxReceiveCount?: unknown }).maxReceiveCount);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A dead-letter queue delivery's attempt there and whether it is the first (counted once). SQS keeps
 * counting receives across the move on moto (the first receive from the DLQ is `maxReceiveCount + 1`);
 * a count that restarts at 1 reads the same.
 */
export function deadLetterAttempt(
  receiveCount: number,
  sources: readonly DeadLetterSource[],
): { attempt: number; first: boolean } {
  for (const s of sources) {
    if (s.maxReceiveCount !== undefined && receiveCount > s.maxReceiveCount) {
      const attempt = receiveCount - s.maxReceiveCount;
      return { attempt, first: attempt === 1 };
    }
  }
  return { attempt: receiveCount, first: receiveCount === 1 };
}
