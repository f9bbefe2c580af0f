/**
 * Temporary and anonymous destinations, one rule for the wrappers and the collector (OTel messaging
 * semantic conventions, "Temporary and anonymous destinations"): a per-call reply queue, a server-named
 * queue or a queue named after a UUID has an unbounded set of names, so span names and metric labels use
 * a placeholder (`(temporary)` or `(anonymous)`, also written as `messaging.destination.template`); the
 * real name stays on the span as `messaging.destination.name` with `messaging.destination.temporary` /
 * `.anonymous` set. Series of queues that are gone cannot pile up: they all share the placeholder's.
 */
import type { Attributes } from '@opentelemetry/api';
import {
  ANONYMOUS_DESTINATION,
  ATTR_MESSAGING_DESTINATION_ANONYMOUS,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_TEMPLATE,
  ATTR_MESSAGING_DESTINATION_TEMPORARY,
  TEMPORARY_DESTINATION,
} from './semconv.js';

export interface DestinationTraits {
  /** Might not exist anymore after its messages are processed (exclusive queue, direct reply-to). */
  readonly temporary: boolean;
  /** Unnamed, or its name was generated (server-named `amq.gen-*`, a UUID in the name). */
  readonly anonymous: boolean;
}

export const NAMED_DESTINATION: DestinationTraits = Object.freeze({ temporary: false, anonymous: false });

/** RabbitMQ's direct reply-to pseudo-queue, and the routing keys it hands out (`amq.rabbitmq.reply-to.<id>`). */
const DIRECT_REPLY_TO = /^amq\.rabbitmq\.reply-to(\.|$)/;
/** Names a broker or client library generates: RabbitMQ `amq.gen-*`, Spring AMQP `spring.gen-*`. */
const SERVER_NAMED = /^(amq|spring)\.gen-/;
/** A UUID (with or without dashes) anywhere in the name. */
const UUID_IN_NAME = /[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/i;

/** What the name alone tells: direct reply-to is temporary; generated names are anonymous. */
export function traitsOfName(name: string): DestinationTraits {
  if (DIRECT_REPLY_TO.test(name)) return { temporary: true, anonymous: false };
  if (SERVER_NAMED.test(name) || UUID_IN_NAME.test(name)) return { temporary: false, anonymous: true };
  return NAMED_DESTINATION;
}

/** The placeholder for span names and metric labels, or undefined when the real name is fine there. */
export function destinationPlaceholder(traits: DestinationTraits): string | undefined {
  if (traits.temporary) return TEMPORARY_DESTINATION;
  if (traits.anonymous) return ANONYMOUS_DESTINATION;
  return undefined;
}

/** The span attributes of a destination: its real name, plus the flags and the template when they apply. */
export function destinationAttributes(name: string, traits: DestinationTraits): Attributes {
  const attributes: Attributes = { [ATTR_MESSAGING_DESTINATION_NAME]: name };
  if (traits.temporary) attributes[ATTR_MESSAGING_DESTINATION_TEMPORARY] = true;
  if (traits.anonymous) attributes[ATTR_MESSAGING_DESTINATION_ANONYMOUS] = true;
  const placeholder = destinationPlaceholder(traits);
  if (placeholder !== undefined) attributes[ATTR_MESSAGING_DESTINATION_TEMPLATE] = placeholder;
  return attributes;
}

/**
 * The label of a destination read back from a span (the collector): its template when it has one, the
 * placeholder when it is flagged temporary or anonymous, or when its name alone says so (spans from
 * other instrumentations), else the name.
 */
export function destinationLabelOf(name: string, attributes: Readonly<Record<string, unknown>>): string {
  const template = attributes[ATTR_MESSAGING_DESTINATION_TEMPLATE];
  if (typeof template === 'string' && template.length > 0) return template;
  const flagged: DestinationTraits = {
    temporary: attributes[ATTR_MESSAGING_DESTINATION_TEMPORARY] === true,
    anonymous: attributes[ATTR_MESSAGING_DESTINATION_ANONYMOUS] === true,
  };
  return destinationPlaceholder(flagged) ?? destinationPlaceholder(traitsOfName(name)) ?? name;
}
