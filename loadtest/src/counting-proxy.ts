import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

import { CommandCounts, WireCommandReader } from './wire';

/**
 * A loopback TCP hop in front of the store for one consumer (an app's client or the task hub's),
 * counting every command that consumer sends. Bytes pass through unchanged in both directions;
 * only the client-to-server stream is read. So the counts are the real round trips of the
 * deployed code, retries included, with nothing added to the apps.
 */
export interface CountingProxy {
  /** The store's connection string, pointing at this proxy. */
  readonly uri: string;
  /** Commands seen so far, by name (connection commands included; see `countsBetween`). */
  counts(): Record<string, number>;
  stop(): Promise<void>;
}

export async function startCountingProxy(storeUri: string): Promise<CountingProxy> {
  const target = new URL(storeUri);
  const counts = new CommandCounts();
  const open = new Set<Socket>();
  const track = (socket: Socket): void => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  };
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 27017), target.hostname);
    track(client);
    track(upstream);
    const reader = new WireCommandReader((name) => {
      counts.add(name);
    });
    client.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch {
        // Not the wire protocol: stop counting this connection rather than guess.
        client.removeAllListeners('data');
        client.on('data', (rest: Buffer) => upstream.write(rest));
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const proxied = new URL(storeUri);
  proxied.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The driver must stay on this hop, not discover and connect to the store's own address.
  proxied.searchParams.set('directConnection', 'true');
  return {
    uri: proxied.toString(),
    counts: () => counts.snapshot(),
    stop: async () => {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
