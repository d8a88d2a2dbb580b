/**
 * Which write a support restart started, and from which. One document per restarted instance, its
 * `_id` the OLD instance id: inserting it is the claim that decides, atomically in every MongoDB
 * (and FerretDB, whose concurrent updates are not isolated), that an instance is restarted once.
 * Two support people pressing "restart" together get one new write and one `409`. `_shardKey` is
 * the `_id` too, so on Cosmos DB, whose `_id` is unique per partition only, the claim still decides.
 */
import type { Collection, Db } from 'mongodb';

import { collections } from '../data/documents';

export interface RestartLink {
  /** The instance that was restarted. */
  _id: string;
  /** The same as `_id` (docs/data-store.md). */
  _shardKey: string;
  /** The instance the restart started. */
  newInstanceId: string;
  at: string;
  actionId: string;
}

export class RestartLinks {
  private readonly collection: Collection<RestartLink>;
  private indexed: Promise<unknown> | undefined;

  constructor(db: Db) {
    this.collection = db.collection<RestartLink>(collections.supportRestarts);
  }

  /**
   * Finds a restart's origin. Not unique: Cosmos DB enforces a unique index per partition only,
   * and only when created on an empty collection; each restart's id is a fresh UUID anyway.
   */
  private ensureIndex(): Promise<unknown> {
    this.indexed ??= this.collection
      .createIndex({ newInstanceId: 1 }, { name: 'byNewInstanceId' })
      .catch((error: unknown) => {
        this.indexed = undefined;
        throw error;
      });
    return this.indexed;
  }

  /** Claims the restart of `link._id`; answers the instance an earlier restart started, when there was one. */
  async claim(
    link: Omit<RestartLink, '_shardKey'>,
  ): Promise<{ claimed: true } | { claimed: false; newInstanceId: string }> {
    await this.ensureIndex();
    try {
      await this.collection.insertOne({ ...link, _shardKey: link._id });
      return { claimed: true };
    } catch (error) {
      if ((error as { code?: unknown }).code !== 11000) throw error;
      const existing = await this.collection.findOne({ _id: link._id, _shardKey: link._id });
      return { claimed: false, newInstanceId: existing?.newInstanceId ?? 'unknown' };
    }
  }

  /** Gives the claim back when the new instance could not be started. */
  async release(instanceId: string): Promise<void> {
    await this.collection.deleteOne({ _id: instanceId, _shardKey: instanceId });
  }

  /** The instance a restart of `instanceId` started, if it was restarted. */
  async restartedAs(instanceId: string): Promise<string | undefined> {
    return (
      await this.collection.findOne({ _id: instanceId, _shardKey: instanceId }, { projection: { newInstanceId: 1 } })
    )?.newInstanceId;
  }

  async linksOf(instanceId: string): Promise<{ restartedAs?: string; restartedFrom?: string }> {
    await this.ensureIndex();
    const [as, from] = await Promise.all([
      this.collection.findOne({ _id: instanceId, _shardKey: instanceId }),
      // Across partitions: only support's detail view asks.
      this.collection.findOne({ newInstanceId: instanceId }),
    ]);
    return { ...(as ? { restartedAs: as.newInstanceId } : {}), ...(from ? { restartedFrom: from._id } : {}) };
  }
}
