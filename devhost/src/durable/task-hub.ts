/**
 * Drives the orchestrations of one task hub: one actor per instance processes its inbox one
 * message at a time (one orchestrator episode per message, durable-protocol.md §3.6), commits each
 * episode as one inserted batch document, then sends what the episode produced. See state.ts for
 * the storage model and why it survives SIGKILL at any point.
 */
import { randomUUID } from 'node:crypto';

import {
  type Action,
  ActionType,
  actionTypeName,
  findDivergence,
  leafActions,
  leafName,
  retryDelayMs,
  type RetryPolicy,
} from './actions';
import { orchestratorBinding } from './binding';
import { KeyedMutex, Semaphore } from './concurrency';
import type { DurableEngineOptions, OrchestrationTriggerBinding, OrchestratorState } from './contract';
import {
  EventType,
  type HistoryEvent,
  historyEvent,
  isTerminal,
  jsonText,
  OrchestrationStatus,
  type RuntimeStatus,
} from './history';
import {
  type BatchDocument,
  emptySnapshot,
  ensureIndexes,
  type ExecutionSnapshot,
  type InboxDocument,
  type InboxMessage,
  type InstanceDocument,
  isDuplicateKey,
  type OutboxItem,
  type ParentLink,
  type TaskHubCollections,
  taskHubCollections,
  type TaskRecord,
} from './state';

/** The live state of one instance's current execution, as the latest batch left it. */
interface Live {
  doc: InstanceDocument;
  history: HistoryEvent[];
  snapshot: ExecutionSnapshot;
  /** Next batch position within the execution, and across executions. */
  n: number;
  ordinal: number;
  /** Whether the current execution has had its first episode. */
  started: boolean;
  /** Batches of an earlier execution (before continue-as-new) are still stored. */
  earlierExecutions?: boolean;
}

interface Actor {
  id: string;
  /** Messages waiting, in arrival order (mirrors the inbox collection). */
  inbox: InboxDocument[];
  /** undefined: not loaded yet; null: no such instance. */
  live: Live | null | undefined;
  scheduled: boolean;
  /** A retry after a failure is pending: the actor waits for it instead of spinning. */
  backingOff: boolean;
  /**
   * Processing failed (a store call dropped, say after the episode's batch was committed but before
   * its message was consumed or its work dispatched): the next drain reloads the instance from the
   * store and finishes what the latest batch left undone, exactly as after a crash.
   */
  recover: boolean;
}

/** The host could not run a function at all (worker restarting): the work is kept and retried. */
class HostUnavailableError extends Error {}

const nonTerminalStatuses: RuntimeStatus[] = ['Pending', 'Running', 'Suspended', 'ContinuedAsNew'];
const hostRetryDelayMs = 1000;
const maxTimeoutMs = 2 ** 31 - 1;

export interface CreateResult {
  ok: boolean;
  existingStatus?: RuntimeStatus;
}

export class TaskHub {
  readonly collections: TaskHubCollections;
  private readonly actors = new Map<string, Actor>();
  private readonly mutex = new KeyedMutex();
  private readonly orchestratorSlots: Semaphore;
  private readonly activitySlots: Semaphore;
  private readonly timers = new Map<string, Map<string, NodeJS.Timeout>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Result ids of the activities running now: recovery must not start a second copy of one. */
  private readonly runningActivities = new Set<string>();
  private readonly completionWaiters = new Map<string, Set<() => void>>();
  private stamp = 0;
  private stopping = false;

  constructor(private readonly options: DurableEngineOptions) {
    this.collections = taskHubCollections(options.db, options.hubName, options.log);
    this.orchestratorSlots = new Semaphore(options.maxConcurrentOrchestratorFunctions);
    this.activitySlots = new Semaphore(options.maxConcurrentActivityFunctions);
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    this.stopping = false;
    await ensureIndexes(this.collections);
    const waiting = await this.collections.inbox.find({}).sort({ stamp: 1, _id: 1 }).toArray();
    for (const message of waiting) {
      this.stamp = Math.max(this.stamp, message.stamp);
      this.actor(message.instanceId).inbox.push(message);
    }
    const unfinished = await this.collections.instances.find({ status: { $in: nonTerminalStatuses } }).toArray();
    for (const doc of unfinished) {
      const actor = this.actor(doc._id);
      await this.mutex.run(actor.id, () => this.load(actor, true));
    }
    for (const actor of this.actors.values()) this.schedule(actor);
    this.options.log('info', `Durable task hub '${this.options.hubName}' started`, {
      resumedInstances: unfinished.length,
      waitingMessages: waiting.length,
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const timers of this.timers.values()) for (const timer of timers.values()) clearTimeout(timer);
    this.timers.clear();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.mutex.idle();
    await this.collections.writer.flush();
    this.actors.clear();
  }

  // ---------------------------------------------------------------- management operations

  /** Creates (or restarts a finished) instance; refuses one that is still running. */
  createInstance(id: string, name: string, input: string | null): Promise<CreateResult> {
    return this.mutex.run(id, async () => {
      const actor = this.actor(id);
      // Most ids are new: try the insert first (the unique _id index decides it without a read).
      if (actor.live === undefined && (await this.insertNewInstance(actor, name, input))) {
        this.schedule(actor);
        return { ok: true };
      }
      await this.load(actor, false);
      if (actor.live && !isTerminal(actor.live.doc.status)) {
        // Possibly created by an earlier attempt of this call whose answer was lost: make sure it runs.
        this.schedule(actor);
        return { ok: false, existingStatus: actor.live.doc.status };
      }
      await this.writeNewInstance(actor, name, input, null, null);
      this.schedule(actor);
      return { ok: true };
    });
  }

  /** Queues a message for an existing instance; resolves with its status before the message, or undefined. */
  async post(id: string, message: InboxMessage): Promise<void> {
    await this.send({ to: id, id: `${message.kind}|${id}|${randomUUID()}`, message });
  }

  /**
   * The instance as its latest committed episode left it. An instance this engine holds in memory
   * is answered from there: the engine is the hub's only writer, so its copy is never behind the
   * store, and status polling then costs no store read (every read is a table scan in the
   * embedded store, docs/performance.md).
   */
  async getInstance(id: string): Promise<InstanceDocument | null> {
    const live = this.actors.get(id)?.live;
    if (live) return { ...live.doc };
    return this.unwrittenDoc(id) ?? this.collections.instances.findOne({ _id: id });
  }

  /** Resolves once every instance document is stored as the engine knows it: queries of the instances collection wait for it. */
  settled(): Promise<void> {
    return this.collections.writer.flush();
  }

  /** The current execution's history, oldest first. */
  async getHistory(doc: InstanceDocument): Promise<HistoryEvent[]> {
    const batches = await this.collections.history
      .find({ instanceId: doc._id, executionId: doc.executionId })
      .sort({ ordinal: 1 })
      .toArray();
    return batches.flatMap((batch) => batch.events);
  }

  /** Deletes an instance and everything stored for it. Returns whether it existed. */
  purge(id: string): Promise<boolean> {
    return this.mutex.run(id, async () => {
      const actor = this.actor(id);
      this.collections.writer.forget(id);
      // History first: an instance document without history is harmless, history without one is not.
      await this.collections.history.deleteMany({ instanceId: id });
      await this.collections.inbox.deleteMany({ instanceId: id });
      const deleted = await this.collections.instances.deleteOne({ _id: id });
      this.clearTimers(id);
      actor.inbox = [];
      actor.live = null;
      this.actors.delete(id);
      return deleted.deletedCount > 0;
    });
  }

  /**
   * Rewinds a failed instance: drops the episodes from the fatal failure on and runs the failed
   * work again (durable-protocol.md §4.3 rewind). Returns false when the instance has not failed.
   */
  rewind(id: string, reason: string): Promise<boolean> {
    return this.mutex.run(id, async () => {
      const actor = this.actor(id);
      await this.load(actor, false);
      const live = actor.live;
      if (!live || live.doc.status !== 'Failed') return false;
      await this.rewindLive(actor, live, reason);
      this.schedule(actor);
      return true;
    });
  }

  /** Resolves when the instance reaches a terminal status, or after timeoutMs. */
  async waitForCompletion(id: string, timeoutMs: number): Promise<InstanceDocument | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let release: (() => void) | undefined;
      const notified = new Promise<void>((resolve) => {
        release = resolve;
      });
      const waiters = this.completionWaiters.get(id) ?? new Set<() => void>();
      this.completionWaiters.set(id, waiters);
      const waiter = (): void => release?.();
      waiters.add(waiter);
      try {
        const doc = await this.getInstance(id);
        if (!doc || isTerminal(doc.status)) return doc;
        const remaining = deadline - Date.now();
        if (remaining <= 0) return doc;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([notified, new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining)))]);
        clearTimeout(timer);
      } finally {
        waiters.delete(waiter);
        if (waiters.size === 0) this.completionWaiters.delete(id);
      }
    }
  }

  // ---------------------------------------------------------------- actors

  private actor(id: string): Actor {
    let actor = this.actors.get(id);
    if (!actor) {
      actor = { id, inbox: [], live: undefined, scheduled: false, backingOff: false, recover: false };
      this.actors.set(id, actor);
    }
    return actor;
  }

  private schedule(actor: Actor): void {
    if (actor.scheduled || actor.backingOff || this.stopping) return;
    actor.scheduled = true;
    void this.mutex
      .run(actor.id, () => this.drain(actor))
      .catch((error: unknown) => {
        this.options.log('error', `Processing instance '${actor.id}' failed; retrying`, {
          instanceId: actor.id,
          error: String(error),
        });
        actor.live = undefined;
        actor.recover = true;
        this.retryLater(actor);
      })
      .finally(() => {
        actor.scheduled = false;
        if (this.hasWork(actor)) this.schedule(actor);
        else if (
          actor.inbox.length === 0 &&
          (actor.live === null || (actor.live && isTerminal(actor.live.doc.status)))
        ) {
          if (this.actors.get(actor.id) === actor && !this.timers.has(actor.id)) this.actors.delete(actor.id);
        }
      });
  }

  private retryLater(actor: Actor): void {
    if (actor.backingOff) return;
    actor.backingOff = true;
    const timer = setTimeout(() => {
      actor.backingOff = false;
      this.schedule(actor);
    }, hostRetryDelayMs);
    timer.unref();
  }

  private hasWork(actor: Actor): boolean {
    if (this.stopping || actor.live === undefined) return false;
    if (actor.live && !isTerminal(actor.live.doc.status) && !actor.live.started) return true;
    return this.nextMessage(actor) !== undefined;
  }

  private nextMessage(actor: Actor): InboxDocument | undefined {
    const live = actor.live;
    if (live && live.doc.status === 'Suspended') {
      return actor.inbox.find(
        (m) => m.message.kind === 'resume' || m.message.kind === 'terminate' || m.message.kind === 'create',
      );
    }
    return actor.inbox[0];
  }

  /** Sends a message: stored first (a duplicate id is stored once), then handed to the actor. */
  private async send(item: OutboxItem): Promise<void> {
    const doc: InboxDocument = { _id: item.id, instanceId: item.to, stamp: this.nextStamp(), message: item.message };
    const { writer, raw } = this.collections;
    // The stamp is unique to this send: it tells this insert from an earlier send of the same message.
    if (!(await writer.insert(raw.inbox, doc, (stored) => stored.stamp === doc.stamp))) {
      // Stored already: by a duplicate send, or by an earlier attempt of this one whose answer was
      // lost with its store connection (a retry sends with a new stamp). The actor hears of a stored
      // message only here (and at start), so hand it what the store holds, unless consumed since.
      const stored = await this.collections.inbox.findOne({ _id: item.id });
      if (stored) this.deliver(stored);
      return;
    }
    this.deliver(doc);
  }

  private deliver(doc: InboxDocument): void {
    if (this.stopping) return;
    const actor = this.actor(doc.instanceId);
    if (!actor.inbox.some((m) => m._id === doc._id)) actor.inbox.push(doc);
    this.schedule(actor);
  }

  private nextStamp(): number {
    this.stamp = Math.max(this.stamp + 1, Date.now() * 1000);
    return this.stamp;
  }

  private async consume(actor: Actor, doc: InboxDocument): Promise<void> {
    actor.inbox = actor.inbox.filter((m) => m._id !== doc._id);
    await this.collections.writer.deleteById(this.collections.raw.inbox, doc._id);
  }

  private async drain(actor: Actor): Promise<void> {
    await this.load(actor, actor.recover);
    actor.recover = false;
    for (;;) {
      if (this.stopping) return;
      const live = actor.live;
      if (live && !isTerminal(live.doc.status) && !live.started) {
        if (!(await this.episode(actor, live, undefined))) return;
        continue;
      }
      const next = this.nextMessage(actor);
      if (!next) return;
      if (next.message.kind === 'create') {
        await this.createFromMessage(actor, next, next.message);
        continue;
      }
      if (!live || isTerminal(live.doc.status)) {
        await this.consume(actor, next);
        continue;
      }
      if (!(await this.episode(actor, live, next))) return;
    }
  }

  // ---------------------------------------------------------------- loading and recovery

  private async load(actor: Actor, recover: boolean): Promise<void> {
    if (actor.live !== undefined) return;
    const doc = this.unwrittenDoc(actor.id) ?? (await this.collections.instances.findOne({ _id: actor.id }));
    if (!doc) {
      actor.live = null;
      return;
    }
    const live: Live = { doc, history: [], snapshot: emptySnapshot(), n: 0, ordinal: 0, started: false };
    actor.live = live;
    if (isTerminal(doc.status) && !recover) return;

    const batches = await this.collections.history.find({ instanceId: actor.id }).sort({ ordinal: 1 }).toArray();
    const latest = batches[batches.length - 1];
    if (!latest) return;
    live.ordinal = latest.ordinal + 1;
    let docChanged = false;
    if (latest.continuedAs) {
      if (doc.executionId !== latest.continuedAs.executionId) {
        Object.assign(doc, {
          executionId: latest.continuedAs.executionId,
          input: latest.continuedAs.input,
          status: 'Running',
          customStatus: latest.customStatus,
          output: null,
        });
        docChanged = true;
      }
    } else if (latest.executionId === doc.executionId) {
      const current = batches.filter((b) => b.executionId === doc.executionId);
      live.history = current.flatMap((b) => b.events);
      live.snapshot = latest.snapshot;
      live.n = latest.n + 1;
      live.started = true;
      if (doc.status !== latest.status || doc.output !== latest.output || doc.customStatus !== latest.customStatus) {
        Object.assign(doc, {
          status: latest.status,
          output: latest.output,
          customStatus: latest.customStatus,
          lastUpdatedTime: latest.at,
        });
        docChanged = true;
      }
    }
    live.earlierExecutions = batches.some((b) => b.executionId !== doc.executionId);
    if (!recover) return;

    // Finish what the latest episode may not have finished before the crash.
    for (const item of latest.outbox) await this.send(item);
    for (const id of latest.consumed) {
      actor.inbox = actor.inbox.filter((m) => m._id !== id);
      await this.collections.writer.deleteById(this.collections.raw.inbox, id);
    }
    if (docChanged) await this.saveDoc(live);
    if (live.started && !isTerminal(doc.status)) this.dispatchAll(actor, live, live.snapshot.tasks);
  }

  // ---------------------------------------------------------------- instances

  private async writeNewInstance(
    actor: Actor,
    name: string,
    input: string | null,
    parent: ParentLink | null,
    createdBy: string | null,
  ): Promise<void> {
    // A new id has no history (purge deletes history before the instance document); a reused one does.
    const reused = actor.live !== null;
    // The previous run's last state must be stored before its history goes: after a crash in
    // between, start-up must see it finished, not resume it without its history.
    if (reused) await this.collections.writer.flush();
    const previousOrdinal = reused
      ? await this.collections.history.find({ instanceId: actor.id }).sort({ ordinal: -1 }).limit(1).toArray()
      : [];
    if (reused) await this.collections.history.deleteMany({ instanceId: actor.id });
    this.clearTimers(actor.id);
    const doc = newInstanceDocument(actor.id, name, input, parent, createdBy);
    await this.collections.instances.replaceOne({ _id: actor.id }, doc, { upsert: true });
    await this.startLive(actor, doc, (previousOrdinal[0]?.ordinal ?? -1) + 1);
  }

  /**
   * Creates an instance whose id the store does not hold yet, with one insert. Returns false when
   * the id exists (the caller then loads it and decides). A new id has no history: purge deletes
   * history before the instance document.
   */
  private async insertNewInstance(actor: Actor, name: string, input: string | null): Promise<boolean> {
    const doc = newInstanceDocument(actor.id, name, input, null, null);
    try {
      await this.collections.instances.insertOne(doc);
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
    await this.startLive(actor, doc, 0);
    return true;
  }

  private async startLive(actor: Actor, doc: InstanceDocument, ordinal: number): Promise<void> {
    actor.live = { doc, history: [], snapshot: emptySnapshot(), n: 0, ordinal, started: false };
    // Messages left for a previous run of this id (late results, events) do not belong to the new one.
    const stale = actor.inbox.filter((m) => m.message.kind !== 'create');
    for (const message of stale) await this.consume(actor, message);
  }

  private async createFromMessage(
    actor: Actor,
    doc: InboxDocument,
    message: Extract<InboxMessage, { kind: 'create' }>,
  ): Promise<void> {
    const live = actor.live;
    if (live && live.doc.createdBy === doc._id) {
      await this.consume(actor, doc);
      return;
    }
    if (live && !isTerminal(live.doc.status)) {
      await this.send({
        to: message.parent.instanceId,
        id: `result|${message.parent.instanceId}|${message.parent.executionId}|${message.parent.seq}`,
        message: {
          kind: 'subOrchestrationResult',
          executionId: message.parent.executionId,
          seq: message.parent.seq,
          ok: false,
          reason: `An orchestration instance with ID '${actor.id}' and status ${live.doc.status} already exists.`,
          details: '',
        },
      });
      await this.consume(actor, doc);
      return;
    }
    await this.consume(actor, doc);
    await this.writeNewInstance(actor, message.name, message.input, message.parent, doc._id);
  }

  /** Stores the instance document now (where a crash must not find the store behind: rewind, recovery). */
  private async saveDoc(live: Live): Promise<void> {
    await this.writeDoc(live.doc);
    this.notifyIfFinished(live.doc);
  }

  private async writeDoc(doc: InstanceDocument): Promise<void> {
    const { _id, ...fields } = doc;
    // This write supersedes any written behind, which must not land after it.
    this.collections.writer.forget(_id);
    await this.collections.instances.updateOne({ _id }, { $set: fields });
  }

  /**
   * Stores the instance document soon, without waiting: after each episode. The latest history
   * batch holds the same state, and start-up repairs the document from it after a crash; reads
   * see the unwritten state through getInstance and load.
   */
  private saveDocLater(live: Live): void {
    const { _id, ...fields } = live.doc;
    this.collections.writer.updateLater(_id, fields);
    this.notifyIfFinished(live.doc);
  }

  private unwrittenDoc(id: string): InstanceDocument | null {
    const fields = this.collections.writer.pendingFields(id);
    return fields ? ({ ...fields, _id: id } as InstanceDocument) : null;
  }

  private notifyIfFinished(doc: InstanceDocument): void {
    if (!isTerminal(doc.status)) return;
    for (const waiter of this.completionWaiters.get(doc._id) ?? []) waiter();
  }

  // ---------------------------------------------------------------- episodes

  /**
   * Processes one message (or the start of an execution when `message` is undefined) as one
   * episode. Returns false when the host could not run the orchestrator (the message stays and is
   * retried later).
   */
  private async episode(actor: Actor, live: Live, message: InboxDocument | undefined): Promise<boolean> {
    const plan = new EpisodePlan(this, live, new Date());
    const applied = plan.apply(message?.message);
    if (applied === 'stale') {
      if (message) await this.consume(actor, message);
      return true;
    }
    if (applied === 'invoke') {
      try {
        await this.orchestratorSlots.run(() => plan.invoke());
      } catch (error) {
        if (!(error instanceof HostUnavailableError)) throw error;
        this.options.log('warn', `The host could not run orchestrator '${live.doc.name}'; retrying`, {
          instanceId: live.doc._id,
          error: error.message,
        });
        this.retryLater(actor);
        return false;
      }
    }
    await this.commit(actor, live, plan, message);
    return true;
  }

  private async commit(actor: Actor, live: Live, plan: EpisodePlan, message: InboxDocument | undefined): Promise<void> {
    plan.events.push(historyEvent(EventType.OrchestratorCompleted, plan.now));
    const doc = live.doc;
    const batch: BatchDocument = {
      _id: `${doc._id}|${doc.executionId}|${live.n}`,
      instanceId: doc._id,
      executionId: doc.executionId,
      n: live.n,
      ordinal: live.ordinal,
      at: plan.now,
      events: plan.events,
      consumed: message ? [message._id] : [],
      outbox: plan.outbox,
      snapshot: plan.snapshot,
      status: plan.status,
      customStatus: plan.customStatus,
      output: plan.output,
      ...(plan.continuedAs ? { continuedAs: plan.continuedAs } : {}),
    };
    const { writer, raw } = this.collections;
    const stored = await writer.insert(raw.history, batch, (other) => other.at.getTime() === batch.at.getTime());
    if (!stored) throw new Error(`The history batch '${batch._id}' is already stored`);

    // Committed: from here on a crash is repaired by load(..., true) from this batch.
    const firstOfExecution = live.n === 0;
    live.n += 1;
    live.ordinal += 1;
    live.started = true;
    live.history.push(...plan.events);
    live.snapshot = plan.snapshot;
    for (const item of plan.outbox) await this.send(item);
    if (message) await this.consume(actor, message);
    if (firstOfExecution && live.earlierExecutions) {
      await this.collections.history.deleteMany({ instanceId: doc._id, executionId: { $ne: doc.executionId } });
      live.earlierExecutions = false;
    }

    const next: InstanceDocument = {
      ...doc,
      status: plan.status,
      customStatus: plan.customStatus,
      output: plan.output,
      lastUpdatedTime: plan.now,
      ...(plan.continuedAs
        ? { executionId: plan.continuedAs.executionId, input: plan.continuedAs.input, status: 'Running', output: null }
        : {}),
    };
    // An instance's end and a new execution are stored before anyone can read them (status is
    // answered from memory), so whoever sees them through the API finds them in the store too.
    // Progress in between is written behind, and collapses under load.
    const now = isTerminal(next.status) || plan.continuedAs !== undefined;
    if (now) await this.writeDoc(next);
    Object.assign(doc, next);
    if (plan.continuedAs) {
      live.history = [];
      live.snapshot = emptySnapshot();
      live.n = 0;
      live.started = false;
      live.earlierExecutions = true;
    }
    if (isTerminal(plan.status)) this.clearTimers(doc._id);
    else this.dispatchAll(actor, live, plan.dispatch);
    if (now) this.notifyIfFinished(doc);
    else this.saveDocLater(live);
    if (plan.failure) {
      this.options.log('error', `Orchestration '${doc.name}' (${doc._id}) failed: ${plan.failure}`, {
        instanceId: doc._id,
        invocationId: plan.invocationId,
      });
    }
  }

  // ---------------------------------------------------------------- work: activities, timers, sub-orchestrations

  private dispatchAll(actor: Actor, live: Live, tasks: readonly TaskRecord[]): void {
    const executionId = live.doc.executionId;
    for (const task of tasks) {
      if (task.kind === 'activity') {
        const resultId = activityResultId(actor.id, executionId, task.seq);
        if (this.runningActivities.has(resultId) || actor.inbox.some((m) => m._id === resultId)) continue;
        const group = task.group === undefined ? undefined : live.snapshot.groups.find((g) => g.id === task.group);
        this.runningActivities.add(resultId);
        this.track(
          this.runActivity(actor.id, executionId, task, group?.expiredFailure).finally(() =>
            this.runningActivities.delete(resultId),
          ),
        );
      } else if (task.kind === 'timer') {
        this.armTimer(actor.id, executionId, task);
      }
    }
  }

  private isStopping(): boolean {
    return this.stopping;
  }

  private track(work: Promise<unknown>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async runActivity(
    instanceId: string,
    executionId: string,
    task: TaskRecord,
    expired: { reason: string; details: string } | undefined,
  ): Promise<void> {
    const name = task.name ?? '';
    const id = activityResultId(instanceId, executionId, task.seq);
    if (expired) {
      await this.send({
        to: instanceId,
        id,
        message: { kind: 'activityResult', executionId, seq: task.seq, ok: false, ...expired },
      });
      return;
    }
    for (;;) {
      if (this.stopping) return;
      const invocationId = randomUUID();
      try {
        const outcome = await this.activitySlots.run(() =>
          this.options.invoker.invokeActivity(name, task.input ?? 'null', {
            instanceId,
            taskScheduledId: task.seq,
            invocationId,
          }),
        );
        if (!outcome.ok) {
          // The reason already reads "Activity function '<name>' failed: …" (the extension's wording).
          const cause = outcome.reason.replace(`Activity function '${name}' failed: `, '');
          this.options.log('warn', `Activity '${name}' failed (instance ${instanceId}, task ${task.seq}): ${cause}`, {
            instanceId,
            invocationId,
            taskScheduledId: task.seq,
            details: outcome.details,
          });
        }
        const message: InboxMessage = outcome.ok
          ? { kind: 'activityResult', executionId, seq: task.seq, ok: true, result: jsonText(outcome.result) }
          : {
              kind: 'activityResult',
              executionId,
              seq: task.seq,
              ok: false,
              reason: outcome.reason,
              details: outcome.details,
              ...(outcome.failureDetails === undefined ? {} : { failureDetails: outcome.failureDetails }),
            };
        await this.send({ to: instanceId, id, message });
        return;
      } catch (error) {
        if (this.isStopping()) return;
        this.options.log('warn', `The host could not run activity '${name}'; retrying`, {
          instanceId,
          invocationId,
          error: String(error),
        });
        await new Promise((resolve) => setTimeout(resolve, hostRetryDelayMs));
      }
    }
  }

  private armTimer(instanceId: string, executionId: string, task: TaskRecord): void {
    const key = `${executionId}|${task.seq}`;
    const timers = this.timers.get(instanceId) ?? new Map<string, NodeJS.Timeout>();
    this.timers.set(instanceId, timers);
    if (timers.has(key)) return;
    const fireAt = task.fireAt ?? new Date().toISOString();
    const arm = (): void => {
      const remaining = Date.parse(fireAt) - Date.now();
      if (remaining > 0) {
        timers.set(key, setTimeout(arm, Math.min(remaining, maxTimeoutMs)));
        return;
      }
      timers.delete(key);
      if (timers.size === 0 && this.timers.get(instanceId) === timers) this.timers.delete(instanceId);
      this.track(
        this.send({
          to: instanceId,
          id: `${instanceId}|${executionId}|${task.seq}|fired`,
          message: { kind: 'timerFired', executionId, seq: task.seq, fireAt },
        }).catch((error: unknown) => {
          // Lost, the firing would leave the instance waiting until the next restart: record it again.
          this.options.log('warn', 'Recording a fired timer failed; retrying', { instanceId, error: String(error) });
          const retry = setTimeout(() => {
            if (!this.stopping) this.armTimer(instanceId, executionId, task);
          }, hostRetryDelayMs);
          retry.unref();
        }),
      );
    };
    arm();
  }

  private clearTimers(instanceId: string): void {
    const timers = this.timers.get(instanceId);
    if (!timers) return;
    for (const timer of timers.values()) clearTimeout(timer);
    this.timers.delete(instanceId);
  }

  // ---------------------------------------------------------------- rewind

  private async rewindLive(actor: Actor, live: Live, reason: string): Promise<void> {
    const id = live.doc._id;
    const executionId = live.doc.executionId;
    const batches = await this.collections.history.find({ instanceId: id, executionId }).sort({ ordinal: 1 }).toArray();
    if (batches.length === 0) return;
    // The fatal episode is the last one; when it ended an exhausted retry group, go back to the
    // episode that recorded the group's last failed attempt, so that attempt runs again.
    let cut = batches.length - 1;
    const fatal = batches[cut]?.events[1];
    if (fatal?.EventType === EventType.TimerFired) {
      const timerId = fatal.TimerId as number;
      const creator = batches.findIndex((b) =>
        b.snapshot.tasks.some((t) => t.seq === timerId && t.kind === 'timer' && t.group !== undefined),
      );
      if (creator >= 0) cut = creator;
    }
    const keep = batches.slice(0, cut);
    const last = keep[keep.length - 1];
    const delivered = batches[cut]?.events[1];
    await this.collections.history.deleteMany({ instanceId: id, executionId, n: { $gte: cut } });
    live.history = keep.flatMap((b) => b.events);
    live.snapshot = last ? last.snapshot : emptySnapshot();
    live.n = cut;
    live.ordinal = (batches[batches.length - 1]?.ordinal ?? 0) + 1;
    live.started = keep.length > 0;
    Object.assign(live.doc, {
      status: last ? last.status : 'Pending',
      output: null,
      customStatus: last?.customStatus ?? null,
      lastUpdatedTime: new Date(),
    });
    await this.saveDoc(live);
    this.options.log('info', `Rewinding instance '${id}': ${reason}`, {
      instanceId: id,
      episodesRemoved: batches.length - cut,
    });

    // A success the orchestrator failed on is delivered again; a failure is retried by running the work again.
    if (delivered) {
      const seq = delivered.TaskScheduledId as number;
      if (delivered.EventType === EventType.TaskCompleted) {
        await this.send({
          to: id,
          id: activityResultId(id, executionId, seq),
          message: { kind: 'activityResult', executionId, seq, ok: true, result: String(delivered.Result) },
        });
      } else if (delivered.EventType === EventType.SubOrchestrationInstanceCompleted) {
        await this.send({
          to: id,
          id: `result|${id}|${executionId}|${seq}`,
          message: { kind: 'subOrchestrationResult', executionId, seq, ok: true, result: String(delivered.Result) },
        });
      } else if (delivered.EventType === EventType.TimerFired && cut === batches.length - 1) {
        const timerId = delivered.TimerId as number;
        await this.send({
          to: id,
          id: `${id}|${executionId}|${timerId}|fired`,
          message: { kind: 'timerFired', executionId, seq: timerId, fireAt: String(delivered.FireAt) },
        });
      } else if (delivered.EventType === EventType.EventRaised) {
        await this.send({
          to: id,
          id: `event|${id}|${randomUUID()}`,
          message: {
            kind: 'event',
            name: String(delivered.Name),
            input: (delivered.Input as string | null | undefined) ?? null,
          },
        });
      }
    }
    // Work whose results were dropped when the instance failed runs again; its results were never recorded.
    for (const task of live.snapshot.tasks) {
      if (task.kind === 'suborchestration') await this.reviveChild(live, task);
    }
    this.dispatchAll(actor, live, live.snapshot.tasks);
  }

  /** A child of a rewound parent: rewound when it failed, its result sent again when it completed. */
  private async reviveChild(live: Live, task: TaskRecord): Promise<void> {
    const childId = task.childInstanceId ?? '';
    const parentId = live.doc._id;
    const executionId = live.doc.executionId;
    const child = await this.getInstance(childId);
    if (
      !child ||
      child.parent?.instanceId !== parentId ||
      child.parent.executionId !== executionId ||
      child.parent.seq !== task.seq
    )
      return;
    if (child.status === 'Failed') {
      const childActor = this.actor(childId);
      await this.mutex.run(childId, async () => {
        await this.load(childActor, false);
        if (childActor.live) await this.rewindLive(childActor, childActor.live, `parent '${parentId}' rewound`);
      });
      this.schedule(childActor);
    } else if (child.status === 'Completed') {
      await this.send({
        to: parentId,
        id: `result|${parentId}|${executionId}|${task.seq}`,
        message: {
          kind: 'subOrchestrationResult',
          executionId,
          seq: task.seq,
          ok: true,
          result: child.output ?? 'null',
        },
      });
    }
  }

  // ---------------------------------------------------------------- used by EpisodePlan

  get log(): DurableEngineOptions['log'] {
    return this.options.log;
  }

  registered(): { orchestrators: string[]; activities: string[] } {
    const functions = this.options.invoker.functions();
    return { orchestrators: functions.orchestrators, activities: functions.activities };
  }

  async invokeOrchestrator(
    name: string,
    binding: OrchestrationTriggerBinding,
    invocationId: string,
  ): Promise<{ ok: boolean; state?: OrchestratorState; error?: string }> {
    try {
      return await this.options.invoker.invokeOrchestrator(name, binding, { invocationId });
    } catch (error) {
      throw new HostUnavailableError(String(error));
    }
  }
}

function newInstanceDocument(
  id: string,
  name: string,
  input: string | null,
  parent: ParentLink | null,
  createdBy: string | null,
): InstanceDocument {
  const now = new Date();
  return {
    _id: id,
    name,
    executionId: randomUUID().replace(/-/g, ''),
    status: 'Pending',
    input,
    output: null,
    customStatus: null,
    createdTime: now,
    lastUpdatedTime: now,
    parent,
    createdBy,
  };
}

function activityResultId(instanceId: string, executionId: string, seq: number): string {
  return `${instanceId}|${executionId}|${seq}|result`;
}

/**
 * What one episode does, decided in memory before anything is written: the history events to
 * append, the next scheduling snapshot, the work to start and the messages to send.
 */
class EpisodePlan {
  readonly events: HistoryEvent[];
  readonly snapshot: ExecutionSnapshot;
  readonly dispatch: TaskRecord[] = [];
  readonly outbox: OutboxItem[] = [];
  status: RuntimeStatus;
  customStatus: string | null;
  output: string | null;
  continuedAs: { executionId: string; input: string | null } | undefined;
  failure: string | undefined;
  invocationId: string | undefined;

  constructor(
    private readonly hub: TaskHub,
    private readonly live: Live,
    readonly now: Date,
  ) {
    this.events = [historyEvent(EventType.OrchestratorStarted, now)];
    this.snapshot = structuredClone(live.snapshot);
    this.status = live.doc.status === 'Pending' || live.doc.status === 'ContinuedAsNew' ? 'Running' : live.doc.status;
    this.customStatus = live.doc.customStatus;
    this.output = live.doc.output;
  }

  private get doc(): InstanceDocument {
    return this.live.doc;
  }

  /** Applies the message; says whether the orchestrator must run, or the message was stale. */
  apply(message: InboxMessage | undefined): 'invoke' | 'recorded' | 'stale' {
    const doc = this.doc;
    if (!message) {
      this.events.push(
        historyEvent(EventType.ExecutionStarted, this.now, {
          Name: doc.name,
          Input: doc.input,
          Version: '',
          OrchestrationInstance: { InstanceId: doc._id, ExecutionId: doc.executionId },
          ...(doc.parent
            ? {
                ParentInstance: {
                  OrchestrationInstance: { InstanceId: doc.parent.instanceId, ExecutionId: doc.parent.executionId },
                  TaskScheduleId: doc.parent.seq,
                },
              }
            : {}),
        }),
      );
      return 'invoke';
    }
    switch (message.kind) {
      case 'activityResult':
      case 'subOrchestrationResult': {
        const kind = message.kind === 'activityResult' ? 'activity' : 'suborchestration';
        const task = this.takeTask(message.executionId, message.seq, kind);
        if (!task) return 'stale';
        const [completed, failed] =
          kind === 'activity'
            ? [EventType.TaskCompleted, EventType.TaskFailed]
            : [EventType.SubOrchestrationInstanceCompleted, EventType.SubOrchestrationInstanceFailed];
        if (message.ok) {
          this.events.push(historyEvent(completed, this.now, { TaskScheduledId: message.seq, Result: message.result }));
          if (task.group !== undefined) this.removeGroup(task.group);
          return 'invoke';
        }
        this.events.push(
          historyEvent(failed, this.now, {
            TaskScheduledId: message.seq,
            Reason: message.reason,
            Details: message.details,
            ...('failureDetails' in message && message.failureDetails !== undefined
              ? { FailureDetails: message.failureDetails }
              : {}),
          }),
        );
        if (task.group === undefined) return 'invoke';
        this.scheduleRetryTimer(task.group, message.reason, message.details);
        return 'recorded';
      }
      case 'timerFired': {
        const task = this.takeTask(message.executionId, message.seq, 'timer');
        if (!task) return 'stale';
        this.events.push(
          historyEvent(EventType.TimerFired, this.now, { TimerId: message.seq, FireAt: message.fireAt }),
        );
        if (task.group === undefined) return 'invoke';
        return this.nextAttempt(task.group) ? 'recorded' : 'invoke';
      }
      case 'event':
        this.events.push(historyEvent(EventType.EventRaised, this.now, { Name: message.name, Input: message.input }));
        return 'invoke';
      case 'terminate':
        this.events.push(historyEvent(EventType.ExecutionTerminated, this.now, { Input: message.reason }));
        this.finish('Terminated', message.reason);
        this.notifyParent(false, `Orchestration '${doc.name}' (${doc._id}) was terminated: ${message.reason}`, '');
        return 'recorded';
      case 'suspend':
        if (this.status === 'Suspended') return 'stale';
        this.events.push(historyEvent(EventType.ExecutionSuspended, this.now, { Reason: message.reason }));
        this.status = 'Suspended';
        return 'recorded';
      case 'resume':
        if (this.status !== 'Suspended') return 'stale';
        this.events.push(historyEvent(EventType.ExecutionResumed, this.now, { Reason: message.reason }));
        this.status = 'Running';
        return 'recorded';
      case 'create':
        return 'stale';
    }
  }

  private takeTask(executionId: string, seq: number, kind: TaskRecord['kind']): TaskRecord | undefined {
    if (executionId !== this.doc.executionId) return undefined;
    const index = this.snapshot.tasks.findIndex((t) => t.seq === seq && t.kind === kind);
    if (index < 0) return undefined;
    const [task] = this.snapshot.tasks.splice(index, 1);
    return task;
  }

  private removeGroup(id: number): void {
    this.snapshot.groups = this.snapshot.groups.filter((g) => g.id !== id);
  }

  /** After a failed attempt the extension always creates a timer, even after the last attempt (§3.7). */
  private scheduleRetryTimer(groupId: number, reason: string, details: string): void {
    const group = this.snapshot.groups.find((g) => g.id === groupId);
    if (!group) return;
    const now = this.now.getTime();
    const timeout = group.policy.retryTimeoutInMilliseconds;
    if (timeout !== undefined && timeout > 0 && now >= group.firstAttemptAt + timeout)
      group.expiredFailure = { reason, details };
    const delay = retryDelayMs(group.policy, group.attempts, group.firstAttemptAt, now);
    const seq = this.snapshot.nextSeq++;
    const fireAt = new Date(now + delay).toISOString();
    this.events.push(historyEvent(EventType.TimerCreated, this.now, { FireAt: fireAt }, seq));
    this.addTask({ seq, kind: 'timer', fireAt, group: group.id });
  }

  /** After a retry timer: the next attempt, or false when attempts are exhausted. */
  private nextAttempt(groupId: number): boolean {
    const group = this.snapshot.groups.find((g) => g.id === groupId);
    if (!group) return false;
    if (group.attempts >= group.policy.maxNumberOfAttempts) {
      this.removeGroup(group.id);
      return false;
    }
    group.attempts += 1;
    const seq = this.snapshot.nextSeq++;
    if (group.kind === 'activity') {
      this.events.push(
        historyEvent(EventType.TaskScheduled, this.now, { Name: group.name, Input: group.input, Version: '' }, seq),
      );
      this.addTask({ seq, kind: 'activity', name: group.name, input: group.input, group: group.id });
    } else {
      const childInstanceId = group.childInstanceId ?? `${this.doc._id}:${seq}`;
      this.scheduleSubOrchestration(seq, group.name, childInstanceId, group.input, group.id);
    }
    return true;
  }

  private addTask(task: TaskRecord): void {
    this.snapshot.tasks.push(task);
    this.dispatch.push(task);
  }

  private scheduleSubOrchestration(
    seq: number,
    name: string,
    childInstanceId: string,
    input: string,
    group: number | undefined,
  ): void {
    const doc = this.doc;
    this.events.push(
      historyEvent(
        EventType.SubOrchestrationInstanceCreated,
        this.now,
        { Name: name, InstanceId: childInstanceId, Input: input, Version: '' },
        seq,
      ),
    );
    this.snapshot.tasks.push({
      seq,
      kind: 'suborchestration',
      name,
      input,
      childInstanceId,
      ...(group === undefined ? {} : { group }),
    });
    this.outbox.push({
      to: childInstanceId,
      id: `create|${doc._id}|${doc.executionId}|${seq}`,
      message: { kind: 'create', name, input, parent: { instanceId: doc._id, executionId: doc.executionId, seq } },
    });
  }

  /** Runs the orchestrator and turns its reply into history, work and messages. */
  async invoke(): Promise<void> {
    const doc = this.doc;
    const registered = this.hub.registered();
    if (!registered.orchestrators.includes(doc.name)) {
      this.fail(
        `The orchestrator function '${doc.name}' does not exist. Registered orchestrators: ${registered.orchestrators.join(', ') || '(none)'}.`,
        '',
      );
      return;
    }
    const binding = orchestratorBinding({
      history: [...this.live.history, ...this.events],
      input: doc.input === null ? undefined : (JSON.parse(doc.input) as unknown),
      instanceId: doc._id,
      parentInstanceId: doc.parent?.instanceId ?? null,
    });
    this.invocationId = randomUUID();
    const outcome = await this.hub.invokeOrchestrator(doc.name, binding, this.invocationId);
    const state = outcome.state;
    if (state && state.customStatus !== undefined) this.customStatus = jsonText(state.customStatus);
    const leaves = leafActions(state?.actions);
    const divergence = findDivergence(this.snapshot.leaves, leaves);
    if (divergence) {
      this.fail(divergence, '');
      return;
    }
    if (!outcome.ok || !state) {
      const error = state?.error ?? outcome.error ?? 'The orchestrator failed without an error message';
      this.fail(error, '', state?.failureDetails);
      return;
    }
    const fresh = leaves.slice(this.snapshot.leaves.length);
    if (state.isDone) {
      const continueAsNew = fresh.find((a) => a.actionType === ActionType.ContinueAsNew);
      if (continueAsNew) this.continueAsNew(continueAsNew);
      else this.complete(state.output);
      return;
    }
    for (const action of fresh) {
      if (!this.scheduleLeaf(action, registered)) return;
    }
  }

  private scheduleLeaf(action: Action, registered: { orchestrators: string[]; activities: string[] }): boolean {
    const name = leafName(action);
    switch (action.actionType) {
      case ActionType.CallActivity:
      case ActionType.CallActivityWithRetry: {
        if (!registered.activities.includes(name)) {
          this.fail(
            `The activity function '${name}' does not exist. Registered activities: ${registered.activities.join(', ') || '(none)'}.`,
            '',
          );
          return false;
        }
        const seq = this.snapshot.nextSeq++;
        const input = typeof action.input === 'string' ? action.input : jsonText(action.input);
        this.events.push(
          historyEvent(EventType.TaskScheduled, this.now, { Name: name, Input: input, Version: '' }, seq),
        );
        const policy =
          action.actionType === ActionType.CallActivityWithRetry ? validPolicy(action.retryOptions) : undefined;
        if (policy)
          this.snapshot.groups.push({
            id: seq,
            kind: 'activity',
            name,
            input,
            policy,
            attempts: 1,
            firstAttemptAt: this.now.getTime(),
          });
        this.addTask({ seq, kind: 'activity', name, input, ...(policy ? { group: seq } : {}) });
        this.snapshot.leaves.push({ actionType: action.actionType, name, seq });
        return true;
      }
      case ActionType.CallSubOrchestrator:
      case ActionType.CallSubOrchestratorWithRetry: {
        if (!registered.orchestrators.includes(name)) {
          this.fail(
            `The orchestrator function '${name}' does not exist. Registered orchestrators: ${registered.orchestrators.join(', ') || '(none)'}.`,
            '',
          );
          return false;
        }
        const seq = this.snapshot.nextSeq++;
        const input = jsonText(action.input);
        const explicitId =
          typeof action.instanceId === 'string' && action.instanceId.length > 0 ? action.instanceId : undefined;
        const policy =
          action.actionType === ActionType.CallSubOrchestratorWithRetry ? validPolicy(action.retryOptions) : undefined;
        if (policy) {
          this.snapshot.groups.push({
            id: seq,
            kind: 'suborchestration',
            name,
            input,
            policy,
            attempts: 1,
            firstAttemptAt: this.now.getTime(),
            ...(explicitId ? { childInstanceId: explicitId } : {}),
          });
        }
        this.scheduleSubOrchestration(
          seq,
          name,
          explicitId ?? `${this.doc._id}:${seq}`,
          input,
          policy ? seq : undefined,
        );
        this.snapshot.leaves.push({ actionType: action.actionType, name, seq });
        return true;
      }
      case ActionType.CreateTimer: {
        const seq = this.snapshot.nextSeq++;
        const fireAt = typeof action.fireAt === 'string' ? action.fireAt : this.now.toISOString();
        this.events.push(historyEvent(EventType.TimerCreated, this.now, { FireAt: fireAt }, seq));
        this.addTask({ seq, kind: 'timer', fireAt });
        this.snapshot.leaves.push({ actionType: action.actionType, name, seq });
        return true;
      }
      case ActionType.WaitForExternalEvent:
        this.snapshot.leaves.push({ actionType: action.actionType, name });
        return true;
      default:
        this.fail(
          `The devhost does not support ${actionTypeName(action.actionType)} (action type ${action.actionType}) in orchestrator '${this.doc.name}'.`,
          '',
        );
        return false;
    }
  }

  private complete(output: unknown): void {
    const result = jsonText(output);
    this.events.push(
      historyEvent(EventType.ExecutionCompleted, this.now, {
        OrchestrationStatus: OrchestrationStatus.Completed,
        Result: result,
      }),
    );
    this.finish('Completed', result);
    this.notifyParent(true, result, '');
  }

  private continueAsNew(action: Action): void {
    const input =
      action.input === undefined ? null : typeof action.input === 'string' ? action.input : jsonText(action.input);
    this.events.push(
      historyEvent(EventType.ContinueAsNew, this.now, {
        OrchestrationStatus: OrchestrationStatus.ContinuedAsNew,
        Result: input,
      }),
    );
    this.status = 'ContinuedAsNew';
    this.output = null;
    this.continuedAs = { executionId: randomUUID().replace(/-/g, ''), input };
    this.snapshot.tasks = [];
  }

  private fail(message: string, details: string, failureDetails?: unknown): void {
    const doc = this.doc;
    this.failure = message;
    this.events.push(
      historyEvent(EventType.ExecutionCompleted, this.now, {
        OrchestrationStatus: OrchestrationStatus.Failed,
        Result: message,
        FailureDetails: failureDetails ?? {
          ErrorType: 'OrchestrationFailure',
          ErrorMessage: message,
          StackTrace: details || null,
        },
      }),
    );
    this.finish('Failed', `Orchestrator function '${doc.name}' failed: ${message}`);
    this.notifyParent(false, `Orchestrator function '${doc.name}' failed: ${message}`, details);
  }

  private finish(status: RuntimeStatus, output: string): void {
    this.status = status;
    this.output = output;
    this.snapshot.tasks = [];
    this.snapshot.groups = [];
    this.dispatch.length = 0;
    this.outbox.length = 0;
  }

  private notifyParent(ok: boolean, resultOrReason: string, details: string): void {
    const parent = this.doc.parent;
    if (!parent) return;
    const id = `result|${parent.instanceId}|${parent.executionId}|${parent.seq}`;
    const message: InboxMessage = ok
      ? {
          kind: 'subOrchestrationResult',
          executionId: parent.executionId,
          seq: parent.seq,
          ok: true,
          result: resultOrReason,
        }
      : {
          kind: 'subOrchestrationResult',
          executionId: parent.executionId,
          seq: parent.seq,
          ok: false,
          reason: resultOrReason,
          details,
        };
    this.outbox.push({ to: parent.instanceId, id, message });
  }
}

function validPolicy(options: RetryPolicy | undefined): RetryPolicy | undefined {
  if (!options) return undefined;
  const first = options.firstRetryIntervalInMilliseconds;
  const attempts = options.maxNumberOfAttempts;
  if (!(first > 0) || !(attempts >= 1)) return undefined;
  return options;
}
