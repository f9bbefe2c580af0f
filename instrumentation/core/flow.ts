/**
 * What hoptrace keeps in the active OTel context about the flow the code is in: its correlation ID, when
 * it began, and which logical service is running. One context entry, so entering a handler costs one
 * context copy rather than one per field.
 */
import { type Context, context, createContextKey } from '@opentelemetry/api';

export interface Flow {
  readonly correlationId?: string;
  /** Epoch ms the flow's first message was published. */
  readonly originAt?: number;
  /** The logical service whose code is running (a handler's subscription or wrapper `serviceName`). */
  readonly serviceName?: string;
}

/** @internal For `LayeredContext.setValues`. */
export const FLOW_KEY = createContextKey('hoptrace.flow');

export function flowOf(ctx: Context = context.active()): Flow | undefined {
  return ctx.getValue(FLOW_KEY) as Flow | undefined;
}

/** `ctx` with `flow` as its flow (replacing the current one: pass every field that should stay). */
export function withFlow(ctx: Context, flow: Flow): Context {
  return ctx.setValue(FLOW_KEY, flow);
}

export function currentOriginAt(ctx: Context = context.active()): number | undefined {
  return flowOf(ctx)?.originAt;
}

export function currentServiceName(ctx: Context = context.active()): string | undefined {
  return flowOf(ctx)?.serviceName;
}
