/**
 * Topic names and subscription patterns. Topics are dot-separated segments (`order.placed`); patterns
 * may use `*` for exactly one segment and `#` for zero or more, as AMQP topic exchanges do.
 */
import { InvalidTopicError } from './errors.js';

export const MAX_TOPIC_LENGTH = 255;
const SEGMENT = /^[A-Za-z0-9_\-:]+$/;

/** Throws InvalidTopicError unless `topic` is a concrete topic a message can be published to. */
export function assertTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw new InvalidTopicError(`topic must be a non-empty string of at most ${MAX_TOPIC_LENGTH} characters`);
  }
  for (const segment of topic.split('.')) {
    if (!SEGMENT.test(segment)) {
      throw new InvalidTopicError(
        `topic "${topic}" has an invalid segment "${segment}": use letters, digits, '_', '-', ':' between dots (wildcards only in subscriptions)`,
      );
    }
  }
}

export type TopicMatcher = (topic: string) => boolean;

/** Compiles a subscription pattern into a matcher. Throws InvalidTopicError on a malformed pattern. */
export function compilePattern(pattern: unknown): TopicMatcher {
  if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > MAX_TOPIC_LENGTH) {
    throw new InvalidTopicError(
      `pattern must be a non-empty string of at most ${MAX_TOPIC_LENGTH} characters`,
    );
  }
  const segments = pattern.split('.');
  for (const segment of segments) {
    if (segment !== '*' && segment !== '#' && !SEGMENT.test(segment)) {
      throw new InvalidTopicError(
        `pattern "${pattern}" has an invalid segment "${segment}": use names, '*' (one segment) or '#' (any number)`,
      );
    }
  }
  if (!pattern.includes('*') && !pattern.includes('#')) return (topic) => topic === pattern;
  return (topic) => matchSegments(segments, 0, topic.split('.'), 0);
}

function matchSegments(pattern: string[], p: number, topic: string[], t: number): boolean {
  while (p < pattern.length) {
    const segment = pattern[p];
    if (segment === '#') {
      // `#` takes zero or more segments: try every split, shortest first.
      if (p === pattern.length - 1) return true;
      for (let skip = t; skip <= topic.length; skip++) {
        if (matchSegments(pattern, p + 1, topic, skip)) return true;
      }
      return false;
    }
    if (t >= topic.length) return false;
    if (segment !== '*' && segment !== topic[t]) return false;
    p++;
    t++;
  }
  return t === topic.length;
}
