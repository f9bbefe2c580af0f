/**
 * Reads the timestamp of one record, the exact input of lag in seconds (as klag-exporter does): one
 * Fetch request to the partition leader, at the committed offset, with `maxWaitTime` 0, through the
 * kafkajs client's own cluster (same brokers, TLS, SASL and socket factory as the caller's client).
 *
 * kafkajs has no public single-partition fetch, so this reaches the client's cluster factory by its
 * symbol description (`private:Kafka:createCluster`, stable across kafkajs 2.x). When it is not there
 * (another major version), `createRecordReader` returns undefined and the lag monitor interpolates.
 */
import type { Kafka } from 'kafkajs';
import { LazyClient } from '../../instrumentation/core/lazy-client.js';

const CREATE_CLUSTER = 'private:Kafka:createCluster';
/**
 * Records of open and aborted transactions count in lag in messages (high watermark - committed), so
 * the age is read the same way: the oldest record at or after the committed offset, transactional or not.
 */
const READ_UNCOMMITTED = 0;
/** Enough for one small record batch; the broker always returns at least one whole batch (KIP-74). */
const PARTITION_MAX_BYTES = 64 * 1024;

interface FetchedMessage {
  offset: string;
  timestamp: string;
  isControlRecord?: boolean;
}
interface KafkaBroker {
  fetch(request: {
    replicaId?: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{
    responses: {
      topicName: string;
      partitions: { partition: number; highWatermark: string; messages: FetchedMessage[] }[];
    }[];
  }>;
}
interface KafkaCluster {
  connect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number }[];
  fetchTopicsOffset(
    topics: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  disconnect(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(args: { nodeId: string }): Promise<KafkaBroker>;
}
type CreateCluster = (options: {
  metadataMaxAge?: number;
  allowAutoTopicCreation?: boolean;
  isolationLevel?: number;
}) => KafkaCluster;

/**
 * The oldest record at or after an offset: its timestamp (epoch ms), or `'none'` when only transaction
 * markers (control records) lie between the offset and the high watermark: nothing is left to process.
 */
export type OldestRecord = number | 'none';

export interface RecordReader {
  /**
   * The first data record at or after `offset` (the oldest message the group has not processed), or
   * undefined when the broker no longer has it (OFFSET_OUT_OF_RANGE: deleted by retention) or returned
   * none. Other failures reject.
   */
  oldestAt(topic: string, partition: number, offset: string): Promise<OldestRecord | undefined>;
  /**
   * Log start offset and high watermark per partition, listed READ_UNCOMMITTED: the high watermark,
   * where kafkajs' `admin.fetchTopicOffsets` gives the last stable offset (it lists READ_COMMITTED).
   */
  watermarks(topic: string): Promise<{ partition: number; high: string; low: string }[]>;
  close(): Promise<void>;
}

export function createRecordReader(kafka: Kafka): RecordReader | undefined {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === CREATE_CLUSTER);
  const createCluster = symbol ? (kafka as unknown as Record<symbol, unknown>)[symbol] : undefined;
  if (typeof createCluster !== 'function') return undefined;
  const cluster = new LazyClient<KafkaCluster>(
    () =>
      (createCluster as CreateCluster)({
        metadataMaxAge: 60_000,
        allowAutoTopicCreation: false,
        isolationLevel: READ_UNCOMMITTED,
      }),
    (c) => c.connect(),
    (c) => c.disconnect(),
  );

  /** A failed request drops the cluster connection: the next call starts over (a restarted broker). */
  const resetOnError = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      await cluster.close().catch(() => undefined);
      throw err;
    }
  };

  return {
    watermarks: (topic) =>
      resetOnError(async () => {
        const c = await cluster.get();
        await c.addTargetTopic(topic);
        await c.refreshMetadataIfNecessary();
        const partitions = c.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId }));
        const [high, low] = await Promise.all(
          [false, true].map(async (fromBeginning) => {
            const [offsets] = await c.fetchTopicsOffset([{ topic, fromBeginning, partitions }]);
            return new Map((offsets?.partitions ?? []).map((p) => [p.partition, p.offset]));
          }),
        );
        return partitions.flatMap(({ partition }) => {
          const h = high?.get(partition);
          const l = low?.get(partition);
          return h === undefined || l === undefined ? [] : [{ partition, high: h, low: l }];
        });
      }),
    async oldestAt(topic, partition, offset) {
      const c = await cluster.get();
      await c.addMultipleTargetTopics([topic]);
      let leaders = c.findLeaderForPartitions(topic, [partition]);
      if (Object.keys(leaders).length === 0) {
        await c.refreshMetadata();
        leaders = c.findLeaderForPartitions(topic, [partition]);
      }
      const nodeId = Object.keys(leaders)[0];
      if (nodeId === undefined) return undefined;
      const broker = await c.findBroker({ nodeId });
      let response: Awaited<ReturnType<KafkaBroker['fetch']>>;
      try {
        response = await broker.fetch({
          isolationLevel: READ_UNCOMMITTED,
          maxWaitTime: 0,
          minBytes: 1,
          maxBytes: PARTITION_MAX_BYTES,
          topics: [
            { topic, partitions: [{ partition, fetchOffset: offset, maxBytes: PARTITION_MAX_BYTES }] },
          ],
        });
      } catch (err) {
        if ((err as { type?: unknown }).type === 'OFFSET_OUT_OF_RANGE') return undefined;
        throw err;
      }
      const wanted = BigInt(offset);
      for (const { partitions } of response.responses) {
        for (const p of partitions) {
          if (p.partition !== partition) continue;
          // The broker answers from the start of the batch holding `offset`: skip what precedes it.
          const after = p.messages.filter((m) => BigInt(m.offset) >= wanted);
          const record = after.find((m) => !m.isControlRecord);
          if (!record) {
            // Markers only, up to the high watermark: the group is caught up (a commit marker is lag 1).
            const last = after[after.length - 1];
            const end = last ? BigInt(last.offset) + 1n : wanted;
            return end >= BigInt(p.highWatermark) ? 'none' : undefined;
          }
          const timestamp = Number(record.timestamp);
          return Number.isFinite(timestamp) && timestamp > 0 ? timestamp : undefined;
        }
      }
      return undefined;
    },
    close() {
      return cluster.close();
    },
  };
}
