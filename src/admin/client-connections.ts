/**
 * Connections per client address on the admin server. The server-wide cap alone lets one address
 * that opens connections and never finishes its headers take every slot, and with them /healthz
 * (the container healthcheck); a connection over the per-address cap is closed at once.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export function limitConnectionsPerClient(server: Server, maxPerClient: number): void {
  const perClient = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? '';
    const open = perClient.get(client) ?? 0;
    if (open >= maxPerClient) {
      socket.destroy();
      return;
    }
    perClient.set(client, open + 1);
    socket.once('close', () => {
      const left = (perClient.get(client) ?? 1) - 1;
      if (left <= 0) perClient.delete(client);
      else perClient.set(client, left);
    });
  });
}
