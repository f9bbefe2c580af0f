/**
 * Dead-letter targets of a RabbitMQ vhost, from the management API's listings. A queue's dead-letter
 * exchange and routing key come from its `x-dead-letter-exchange` / `x-dead-letter-routing-key`
 * arguments, else from its effective policy's `dead-letter-exchange` / `dead-letter-routing-key`
 * (arguments win, as in RabbitMQ). The exchange is resolved to queues through the vhost's bindings:
 * the default exchange routes to the queue named by the routing key; fanout to every bound queue;
 * direct and topic by the routing key (every bound queue when no dead-letter routing key is set, since
 * messages keep their own keys); headers exchanges to every bound queue. Exchange-to-exchange bindings
 * are not followed.
 */

export interface QueueInfo {
  name: string;
  messages?: number;
  messages_ready?: number;
  messages_unacknowledged?: number;
  consumers?: number;
  arguments?: Record<string, unknown>;
  policy?: string | null;
  effective_policy_definition?: Record<string, unknown> | unknown[] | null;
  /** Seconds since the epoch: the `timestamp` property of the head message (classic queues). */
  head_message_timestamp?: number | null;
  /** Exclusive to the connection that declared it: temporary. */
  exclusive?: boolean;
}

export interface BindingInfo {
  source: string;
  destination: string;
  destination_type: string;
  routing_key: string;
}

export interface ExchangeInfo {
  name: string;
  type: string;
}

export interface PolicyInfo {
  name: string;
  definition: Record<string, unknown>;
}

/** AMQP topic pattern match: `*` one word, `#` zero or more words. */
export function topicMatches(pattern: string, key: string): boolean {
  const p = pattern.split('.');
  const k = key.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') {
      for (let skip = j; skip <= k.length; skip++) if (match(i + 1, skip)) return true;
      return false;
    }
    if (j === k.length) return false;
    return (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function policyDefinition(
  queue: QueueInfo,
  policies: Map<string, Record<string, unknown>>,
): Record<string, unknown> {
  const effective = queue.effective_policy_definition;
  if (effective && !Array.isArray(effective) && Object.keys(effective).length > 0) return effective;
  return (queue.policy && policies.get(queue.policy)) || {};
}

/** Dead-letter queue name -> names of the queues that dead-letter into it. */
export function deadLetterTargets(
  queues: QueueInfo[],
  bindings: BindingInfo[],
  exchanges: ExchangeInfo[],
  policies: PolicyInfo[] = [],
): Map<string, Set<string>> {
  const policyByName = new Map(policies.map((p) => [p.name, p.definition]));
  const exchangeType = new Map(exchanges.map((e) => [e.name, e.type]));
  const queueNames = new Set(queues.map((q) => q.name));
  const out = new Map<string, Set<string>>();
  const add = (target: string, source: string) => {
    if (target === source || !queueNames.has(target)) return;
    let sources = out.get(target);
    if (!sources) {
      sources = new Set();
      out.set(target, sources);
    }
    sources.add(source);
  };
  for (const queue of queues) {
    const args = queue.arguments ?? {};
    const policy = policyDefinition(queue, policyByName);
    const exchange = str(args['x-dead-letter-exchange']) ?? str(policy['dead-letter-exchange']);
    if (exchange === undefined) continue;
    const routingKey = str(args['x-dead-letter-routing-key']) ?? str(policy['dead-letter-routing-key']);
    if (exchange === '' || exchange === 'amq.default') {
      if (routingKey !== undefined) add(routingKey, queue.name);
      continue;
    }
    const type = exchangeType.get(exchange);
    for (const b of bindings) {
      if (b.source !== exchange || b.destination_type !== 'queue') continue;
      const matches =
        type === 'fanout' ||
        routingKey === undefined ||
        (type === 'direct' && b.routing_key === routingKey) ||
        (type === 'topic' && topicMatches(b.routing_key, routingKey)) ||
        (type !== 'direct' && type !== 'topic');
      if (matches) add(b.destination, queue.name);
    }
  }
  return out;
}
