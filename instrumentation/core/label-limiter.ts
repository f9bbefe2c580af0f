/**
 * The one cardinality limit of hoptrace's metric labels, for the wrappers (destinations, error types)
 * and the collector (services, destinations and groups read from spans): per (scope, label), the first
 * `max` distinct values pass and later ones become `other` (`__other__` by default). The empty value
 * means "no value" and always passes uncounted. Lookups build no key strings: this runs per message.
 */
import { OTHER_DESTINATION } from './semconv.js';

export class LabelLimiter {
  private readonly scopes = new Map<string, Map<string, Set<string>>>();

  constructor(
    readonly max: number,
    readonly other: string = OTHER_DESTINATION,
  ) {}

  /** `value`, or `other` when `max` other values of `label` in `scope` (a metric, a system) came first. */
  bound(scope: string, label: string, value: string): string {
    if (value === '') return value;
    let labels = this.scopes.get(scope);
    if (!labels) {
      labels = new Map();
      this.scopes.set(scope, labels);
    }
    let seen = labels.get(label);
    if (!seen) {
      seen = new Set();
      labels.set(label, seen);
    }
    if (seen.has(value)) return value;
    if (seen.size >= this.max) return this.other;
    seen.add(value);
    return value;
  }
}
