import net from 'node:net';

/** One HTTP response as it came over the wire. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Every response a connection carried before it closed (none when the server just hung up). */
export interface RawExchange {
  responses: RawResponse[];
}

export interface RawHttpOptions {
  /**
   * Close the sending side this long after the request is written, for a request whose body never
   * completes (a length larger than what is sent, an unterminated chunked body): the host waits for
   * the rest, and a half-close is how a client gives up. Otherwise the connection stays open until
   * the server closes it (send `Connection: close`).
   */
  giveUpAfterMs?: number;
  /** Destroy the connection after this long, whatever happened (default 15 s). */
  timeoutMs?: number;
}

/**
 * Sends bytes exactly as given over a new TCP connection and collects every response until the
 * server closes it. For what `fetch` would not send: duplicate headers, lying lengths, truncated and
 * hand-made chunked bodies. (Node's server aborts a request whose client half-closes before the
 * answer, so the sending side stays open unless `giveUpAfterMs` says otherwise.)
 */
export function rawHttp(port: number, request: Buffer | string, options: RawHttpOptions = {}): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.write(request);
      if (options.giveUpAfterMs !== undefined) setTimeout(() => socket.end(), options.giveUpAfterMs).unref();
    });
    socket.setTimeout(options.timeoutMs ?? 15_000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The server may reset a connection it refused; what it answered before still counts.
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
    socket.on('close', () => {
      try {
        resolve({ responses: parseResponses(Buffer.concat(chunks)) });
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

/** A request's head (request line and headers, in order, duplicates kept; UTF-8 as given) and body, as bytes. */
export function rawRequest(
  method: string,
  target: string,
  headers: [string, string][],
  body: Buffer | string = '',
): Buffer {
  const head = [
    `${method} ${target} HTTP/1.1`,
    'Host: 127.0.0.1',
    ...headers.map(([name, value]) => `${name}: ${value}`),
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'utf8'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')]);
}

/** A body in chunked transfer coding, `size` bytes per chunk. */
export function chunked(body: Buffer | string, size: number): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const parts: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) {
    const piece = bytes.subarray(offset, offset + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`, 'latin1'), piece, Buffer.from('\r\n', 'latin1'));
  }
  parts.push(Buffer.from('0\r\n\r\n', 'latin1'));
  return Buffer.concat(parts);
}

function parseResponses(data: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let offset = 0;
  while (offset < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', offset, 'latin1');
    if (headEnd < 0)
      throw new Error(`An incomplete response head: ${data.subarray(offset, offset + 200).toString('latin1')}`);
    const [statusLine = '', ...lines] = data.subarray(offset, headEnd).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
    if (!Number.isInteger(status)) throw new Error(`Not an HTTP status line: ${statusLine}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let bodyStart = headEnd + 4;
    let body: Buffer;
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = data.indexOf('\r\n', bodyStart, 'latin1');
        const size = parseInt(data.subarray(bodyStart, lineEnd).toString('latin1'), 16);
        bodyStart = lineEnd + 2;
        if (!(size > 0)) {
          bodyStart += 2;
          break;
        }
        parts.push(data.subarray(bodyStart, bodyStart + size));
        bodyStart += size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      const length =
        headers['content-length'] !== undefined ? Number(headers['content-length']) : data.length - bodyStart;
      body = data.subarray(bodyStart, bodyStart + length);
      bodyStart += length;
    }
    responses.push({ status, headers, body: body.toString('utf8') });
    offset = bodyStart;
  }
  return responses;
}
