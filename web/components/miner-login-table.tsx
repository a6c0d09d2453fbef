/**
 * The honeypot's miner logins: one incident's (its page), or the fleet's (the Fleet page adds the
 * Instance and Host columns). Every field but the ports came from the client: rendered as text.
 */
import type { HostIdentity, MinerLogin } from '../types.js';
import { HostLabel, Time } from './ui.js';

/** What a row needs: a local login, or a fleet one (its instance and the host's identity). */
export type MinerLoginRow = Pick<
  MinerLogin,
  'id' | 'time' | 'clientIp' | 'clientPort' | 'port' | 'tls' | 'protocol' | 'wallet' | 'worker' | 'agent'
> & {
  readonly instance?: string;
  readonly identity?: HostIdentity | null;
};

export function MinerLoginTable({
  logins,
  showInstance = false,
  showHost = false,
  testId = 'miner-logins',
}: {
  logins: readonly MinerLoginRow[];
  showInstance?: boolean;
  showHost?: boolean;
  testId?: string;
}) {
  if (logins.length === 0) return <p class="muted">No miner logins at the honeypot.</p>;
  return (
    <table data-testid={testId}>
      <thead>
        <tr>
          <th scope="col">Time</th>
          {showInstance ? <th scope="col">Instance</th> : null}
          {showHost ? <th scope="col">Host</th> : null}
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
          <tr key={`${l.instance ?? ''} ${l.id}`}>
            <td>
              <Time iso={l.time} />
            </td>
            {showInstance ? <td class="instance">{l.instance}</td> : null}
            {showHost ? (
              <td>
                <HostLabel ip={l.clientIp} identity={l.identity ?? null} />
              </td>
            ) : null}
            <td class="num">{l.clientPort}</td>
            <td class="num">{l.port}</td>
            <td>{l.tls ? 'yes' : 'no'}</td>
            <td>{l.protocol}</td>
            <td class="mono wrap wallet">{l.wallet}</td>
            <td class="mono wrap worker">{l.worker ?? '–'}</td>
            <td class="wrap agent">{l.agent ?? '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
