/**
 * Counts the commands a MongoDB client sends, read from the wire (MongoDB wire protocol, the
 * client-to-server direction of one TCP connection). Every command since MongoDB 3.6 travels as an
 * OP_MSG: a 16-byte header (messageLength, requestID, responseTo, opCode 2013, all int32 little
 * endian), uint32 flagBits, then sections: kind 0 is the command body, one BSON document whose
 * first key is the command name; kind 1 is a document sequence (int32 size, identifier, documents).
 * A driver's first handshake on a connection may still be a legacy OP_QUERY (2004) `isMaster`.
 */

export const OP_MSG = 2013;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;

const HEADER_BYTES = 16;
const CHECKSUM_PRESENT = 1;
/** The servers' default maxMessageSizeBytes: a longer "length" means the stream is not the protocol. */
const MAX_MESSAGE_BYTES = 48_000_000;

/**
 * Commands a driver sends to open, authenticate, monitor or close connections, not to do the
 * application's work: left out of the operation counts (compared lower-case).
 */
export const CONNECTION_COMMANDS: ReadonlySet<string> = new Set([
  'hello',
  'ismaster',
  'ping',
  'saslstart',
  'saslcontinue',
  'authenticate',
  'getnonce',
  'endsessions',
  'buildinfo',
  'getparameter',
]);

export function isConnectionCommand(name: string): boolean {
  return CONNECTION_COMMANDS.has(name.toLowerCase());
}

/** The first key of the BSON document at `offset`, or undefined for an empty document. */
function firstKey(frame: Buffer, offset: number): string | undefined {
  const type = frame[offset + 4];
  if (type === undefined || type === 0) return undefined;
  const start = offset + 5;
  const end = frame.indexOf(0, start);
  if (end < 0) return undefined;
  return frame.toString('utf8', start, end);
}

/** The command one complete message carries: its name, or `(opCode n)` for anything else. */
export function commandOf(frame: Buffer): string {
  const opCode = frame.readInt32LE(12);
  if (opCode === OP_MSG) {
    const flags = frame.readUInt32LE(HEADER_BYTES);
    const end = frame.length - ((flags & CHECKSUM_PRESENT) !== 0 ? 4 : 0);
    let offset = HEADER_BYTES + 4;
    while (offset < end) {
      const kind = frame[offset];
      offset += 1;
      if (kind === 0) return firstKey(frame, offset) ?? '(empty body)';
      // A document sequence (kind 1) goes before or after the body; its size includes itself.
      offset += frame.readInt32LE(offset);
    }
    return '(no body)';
  }
  if (opCode === OP_QUERY) {
    const collectionEnd = frame.indexOf(0, HEADER_BYTES + 4);
    // After the collection name: numberToSkip and numberToReturn, then the query document.
    return firstKey(frame, collectionEnd + 1 + 8) ?? '(empty query)';
  }
  return `(opCode ${opCode})`;
}

/**
 * Splits one connection's client-to-server byte stream into messages and reports each command's
 * name. TCP hands over arbitrary pieces: a message may span chunks, a chunk may hold several.
 */
export class WireCommandReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onCommand: (name: string) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4) {
      const length = this.pending.readInt32LE(0);
      if (length < HEADER_BYTES || length > MAX_MESSAGE_BYTES)
        throw new Error(`not a MongoDB wire message: length ${length}`);
      if (this.pending.length < length) return;
      this.onCommand(commandOf(this.pending.subarray(0, length)));
      this.pending = this.pending.subarray(length);
    }
  }
}

/** Commands counted by name: operations, and connection traffic kept apart. */
export class CommandCounts {
  private readonly counts = new Map<string, number>();

  add(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }

  /** Every command seen so far, by name. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

/** What happened between two snapshots, split into operations and connection commands. */
export function countsBetween(
  before: Record<string, number>,
  after: Record<string, number>,
): { operations: Record<string, number>; connection: Record<string, number> } {
  const operations: Record<string, number> = {};
  const connection: Record<string, number> = {};
  for (const [name, count] of Object.entries(after)) {
    const delta = count - (before[name] ?? 0);
    if (delta <= 0) continue;
    (isConnectionCommand(name) ? connection : operations)[name] = delta;
  }
  return { operations, connection };
}
