/** Alert annotation templating (Go text/template, as Prometheus expands it). */
import {
  LABEL_CONSUMER_GROUP,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
} from '../../instrumentation/core/semconv.js';

/** `{{ $labels.name }}` */
export function labelRef(name: string): string {
  return `{{ $labels.${name} }}`;
}

/**
 * "kafka orders (consumer group billing)": the consumer an alert is about. RabbitMQ consumers have
 * no group, so the parenthesis appears only when the label is set.
 */
export const CONSUMER_REF = `${labelRef(LABEL_MESSAGING_SYSTEM)} ${labelRef(LABEL_DESTINATION)}{{ with $labels.${LABEL_CONSUMER_GROUP} }} (consumer group {{ . }}){{ end }}`;
