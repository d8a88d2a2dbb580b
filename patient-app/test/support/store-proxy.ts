import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A real TCP hop (loopback) between patient-app and the store that can be cut: while cut it drops
 * every open connection and every new one as soon as it arrives, as a store outage or a failover
 * looks to the driver. Only patient-app's own client goes through it; the Durable engine and
 * audit-app keep their direct connections.
 */
export interface StoreProxy {
  /** The connection string patient-app uses: the store's, with the proxy's host and port. */
  uri(storeUri: string): string;
  cut(): void;
  restore(): void;
  readonly isCut: boolean;
}

export function useStoreProxy(target: () => string): StoreProxy {
  let server: Server | undefined;
  let cut = false;
  const open = new Set<Socket>();
  const track = (socket: Socket): void => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  };
  beforeAll(async () => {
    server = createServer((client) => {
      track(client);
      if (cut) {
        client.destroy();
        return;
      }
      const { hostname, port } = new URL(target());
      const upstream = connect(Number(port), hostname);
      track(upstream);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of open) socket.destroy();
    await new Promise((resolve) => server?.close(resolve));
  });
  return {
    uri: (storeUri) => {
      const url = new URL(storeUri);
      url.host = `127.0.0.1:${(server?.address() as AddressInfo).port}`;
      return url.toString();
    },
    cut: () => {
      cut = true;
      for (const socket of open) socket.destroy();
    },
    restore: () => {
      cut = false;
    },
    get isCut() {
      return cut;
    },
  };
}
