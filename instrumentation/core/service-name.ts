/**
 * The logical service the active code belongs to. A handler runs with its subscription's service name,
 * so messages it publishes are attributed to that service even when one process hosts several.
 */
import { type Context, context, createContextKey } from '@opentelemetry/api';

const SERVICE_NAME_KEY = createContextKey('hoptrace.service.name');

export function currentServiceName(ctx: Context = context.active()): string | undefined {
  const value = ctx.getValue(SERVICE_NAME_KEY);
  return typeof value === 'string' ? value : undefined;
}

export function setServiceName(ctx: Context, name: string): Context {
  return ctx.setValue(SERVICE_NAME_KEY, name);
}
