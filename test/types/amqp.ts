/**
 * Type test (compiled by `npm run build`, never run): `instrumentAmqp` hands back exactly the amqplib
 * types it was given, so instrumenting an application is a one-line change.
 */
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, GetMessage, Replies } from 'amqplib';
import type * as callbackApi from 'amqplib/callback_api';
import {
  type AmqpInstrumentationOptions,
  type ConsumeInfo,
  instrumentAmqp,
  type PublishInfo,
  type SettleInfo,
} from '../../instrumentation/amqp/index.js';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_proof?: T): void {}

declare const connection: ChannelModel;
declare const channel: Channel;
declare const confirmChannel: ConfirmChannel;
declare const callbackConnection: callbackApi.Connection;

const options: AmqpInstrumentationOptions = {
  serviceName: 'orders',
  settleTimeoutMs: 10_000,
  deadLetterExchanges: { 'orders.q': 'orders.dlx' },
  temporaryQueues: (queue) => (queue.startsWith('reply.') ? true : undefined),
  applicationCorrelationId: false,
  linkMode: 'link',
  hooks: {
    publishHook: (span, info: PublishInfo) => span.setAttribute('rk', info.message.routingKey),
    consumeHook: (_span, info: ConsumeInfo) => void info.message.fields.deliveryTag,
    settleHook: (_span, info: SettleInfo) => void info.outcome,
  },
};

const conn = instrumentAmqp(connection, options);
instrumentAmqp(connection, { temporaryQueues: /^rpc\.reply\./ });
expectType<Equals<typeof conn, ChannelModel>>();
expectType<Equals<ReturnType<typeof conn.createChannel>, Promise<Channel>>>();
expectType<Equals<ReturnType<typeof conn.createConfirmChannel>, Promise<ConfirmChannel>>>();

const ch = instrumentAmqp(channel);
expectType<Equals<typeof ch, Channel>>();
const confirm = instrumentAmqp(confirmChannel, options);
expectType<Equals<typeof confirm, ConfirmChannel>>();
expectType<
  Equals<
    typeof instrumentAmqp<callbackApi.Connection>,
    (t: callbackApi.Connection, o?: AmqpInstrumentationOptions) => callbackApi.Connection
  >
>();
const cb = instrumentAmqp(callbackConnection);
expectType<Equals<typeof cb, callbackApi.Connection>>();

export async function usage(): Promise<void> {
  const published: boolean = ch.publish('orders', 'order.placed', Buffer.from('{}'), { persistent: true });
  const sent: boolean = confirm.sendToQueue('q', Buffer.from('{}'), {}, (err: unknown) => void err);
  void published;
  void sent;
  const consumed: Replies.Consume = await ch.consume('q', (msg: ConsumeMessage | null) => {
    if (msg) ch.ack(msg);
  });
  void consumed;
  const got: GetMessage | false = await ch.get('q');
  if (got) ch.nack(got, false, false);
  ch.on('return', (msg) => void msg.fields.routingKey);
  await confirm.waitForConfirms();
  // @ts-expect-error the wrapper keeps amqplib's argument checks
  ch.publish('orders', 'order.placed', 'not a buffer');
}
