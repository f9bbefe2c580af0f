/**
 * Kafka TLS and SASL from command-line flags, as the kafkajs `ssl` and `sasl` options (the same shape
 * the collector's config and `createKafkaLagMonitor` take). The password comes from an environment
 * variable, never a flag: command lines are visible to every user of the machine.
 */
import { readFileSync } from 'node:fs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { UsageError } from './command.js';

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export const SASL_PASSWORD_ENV = 'HOPTRACE_KAFKA_SASL_PASSWORD';

/** The flags, named `${prefix}tls` etc. (prefix '' for `hoptrace lag`, 'kafka-' for the collector). */
export function kafkaConnectionFlags(prefix: string) {
  return {
    [`${prefix}tls`]: { type: 'boolean' },
    [`${prefix}tls-ca`]: { type: 'string' },
    [`${prefix}tls-cert`]: { type: 'string' },
    [`${prefix}tls-key`]: { type: 'string' },
    [`${prefix}tls-insecure`]: { type: 'boolean' },
    [`${prefix}sasl-mechanism`]: { type: 'string' },
    [`${prefix}sasl-username`]: { type: 'string' },
  } as const satisfies Record<string, { type: 'boolean' | 'string' }>;
}

export const KAFKA_CONNECTION_HELP = (
  prefix: string,
) => `  --${prefix}tls              connect with TLS (implied by the other --${prefix}tls-* flags)
  --${prefix}tls-ca FILE       trust this CA (PEM) instead of the system's
  --${prefix}tls-cert FILE     client certificate (PEM), with --${prefix}tls-key FILE
  --${prefix}tls-insecure      do not verify the broker's certificate (tests only)
  --${prefix}sasl-mechanism M  plain, scram-sha-256 or scram-sha-512, with --${prefix}sasl-username U;
                        the password is read from ${SASL_PASSWORD_ENV}`;

/** `{ ssl?, sasl? }` for kafkajs from the parsed flags. */
export function kafkaConnection(
  prefix: string,
  values: Record<string, string | boolean | undefined | unknown>,
  env: NodeJS.ProcessEnv,
): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const flag = (name: string) => values[`${prefix}${name}`] as string | boolean | undefined;
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  const read = (name: string) => {
    const file = flag(name);
    if (typeof file !== 'string') return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`--${prefix}${name}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const ca = read('tls-ca');
  const cert = read('tls-cert');
  const key = read('tls-key');
  const insecure = flag('tls-insecure') === true;
  if ((cert === undefined) !== (key === undefined))
    throw new UsageError(`--${prefix}tls-cert and --${prefix}tls-key go together`);
  if (ca !== undefined || cert !== undefined || insecure) {
    out.ssl = {
      ...(ca !== undefined ? { ca: [ca] } : {}),
      ...(cert !== undefined ? { cert, key } : {}),
      ...(insecure ? { rejectUnauthorized: false } : {}),
    };
  } else if (flag('tls') === true) {
    out.ssl = true;
  }
  const mechanism = flag('sasl-mechanism');
  const username = flag('sasl-username');
  if (mechanism === undefined) {
    if (username !== undefined)
      throw new UsageError(`--${prefix}sasl-username needs --${prefix}sasl-mechanism`);
    return out;
  }
  if (typeof mechanism !== 'string' || !(SASL_MECHANISMS as readonly string[]).includes(mechanism))
    throw new UsageError(`--${prefix}sasl-mechanism must be one of ${SASL_MECHANISMS.join(', ')}`);
  if (typeof username !== 'string' || username === '')
    throw new UsageError(`--${prefix}sasl-mechanism needs --${prefix}sasl-username`);
  const password = env[SASL_PASSWORD_ENV];
  if (password === undefined) throw new UsageError(`SASL needs the password in ${SASL_PASSWORD_ENV}`);
  out.sasl = { mechanism, username, password } as SASLOptions;
  return out;
}
