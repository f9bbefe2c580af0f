/**
 * The amqplib versions the integration tests prove hoptrace against: the installed 2.x, and 1.x and
 * 0.10.x as the npm aliases `amqplib-1` and `amqplib-0.10`. Loaded with `require`, as applications load this CommonJS package.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type amqplib from 'amqplib';

export const AMQPLIB_MODULES = ['amqplib', 'amqplib-1', 'amqplib-0.10'] as const;
export type AmqplibModule = (typeof AMQPLIB_MODULES)[number];

const require = createRequire(import.meta.url);

export function loadAmqplib(name: AmqplibModule): typeof amqplib {
  return require(name) as typeof amqplib;
}

// biome-ignore lint/suspicious/noExplicitAny: the callback API's typings differ between versions.
export function loadCallbackApi(name: AmqplibModule): any {
  return require(`${name}/callback_api`);
}

export function amqplibVersion(name: AmqplibModule): string {
  const packageJson = join(dirname(require.resolve(name)), 'package.json');
  return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
}
