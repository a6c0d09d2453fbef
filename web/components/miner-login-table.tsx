/** The honeypot's miner logins of one incident. Every field came from the client: rendered as text. */
import type { MinerLogin } from '../types.js';
import { Time } from './ui.js';

export function MinerLoginTable({ logins }: { logins: readonly MinerLogin[] }) {
  if (logins.length === 0) return <p class="muted">No miner logins at the honeypot.</p>;
  return (
    <table data-testid="miner-logins">
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col" class="num">
            Client port
          </th>
          <th scope="col" class="num">
            Port
          </th>
          <th scope="col">TLS</th>
          <th scope="col">Protocol</th>
          <th scope="col">Wallet</th>
          <th scope="col">Worker</th>
          <th scope="col">Agent</th>
        </tr>
      </thead>
      <tbody>
        {logins.map((l) => (
          <tr key={l.id}>
            <td>
              <Time iso={l.time} />
            </td>
            <td class="num">{l.clientPort}</td>
            <td class="num">{l.port}</td>
            <td>{l.tls ? 'yes' : 'no'}</td>
            <td>{l.protocol}</td>
            <td class="mono wrap wallet">{l.wallet}</td>
            <td class="mono wrap">{l.worker ?? '–'}</td>
            <td class="wrap">{l.agent ?? '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
