/**
 * The command line's usage text, one entry per command, so `poolsink help COMMAND` and
 * `poolsink COMMAND --help` print just that command's lines.
 */
export const COMMAND_USAGE = {
  serve: `  poolsink serve [--config FILE]            run the resolver`,
  check: `  poolsink check [--config FILE] [--files] DOMAIN...
                                            the verdict for each domain (allow, allowlisted, block, alert): the
                                            running server's (admin API), else (or with --files) from the files,
                                            which ignores runtime lists and runtime allowlist entries`,
  hosts: `  poolsink hosts [--config FILE] [--since 24h] [--limit N] [--fleet [--instance NAME]]
                                            hosts that tried to resolve blocked names, most recent first;
                                            --fleet: every instance's (central.postgres, through the admin API)`,
  events: `  poolsink events [--config FILE] [--client IP|CIDR] [--domain NAME] [--list NAME] [--action blocked|alerted]
                 [--since 1h] [--until TIME] [--limit N] [--format table|csv|ndjson] [--fleet [--instance NAME]]
                                            block events, newest first; --fleet: every instance's (a table)`,
  lists: `  poolsink lists [--config FILE]            the running server's lists (through its admin API)
  poolsink lists refresh [NAME] [--force] [--config FILE]
                                            fetch now; --force overrides the shrink guard; exit 1 when one is rejected or fails`,
  incidents: `  poolsink incidents [--config FILE] [--state open|acknowledged|resolved] [--since 7d] [--client IP|CIDR]
                   [--limit N] [--fleet [--instance NAME]]
                                            incidents, newest first; --fleet: the fleet's (one per host)`,
  incident: `  poolsink incident ID [--config FILE]      one incident: names, history
  poolsink incident ID acknowledge|resolve --note TEXT [--config FILE]
                                            change its state (through the admin API)`,
  logins: `  poolsink logins [--config FILE] [--client IP|CIDR] [--wallet WALLET] [--since 24h] [--until TIME] [--limit N]
                 [--fleet [--instance NAME]]
                                            miner logins the stratum honeypot caught, newest first; --fleet: every
                                            instance's (central.postgres, through the admin API)`,
  'retro-hunt': `  poolsink retro-hunt [--config FILE] [--since 3d] [--record] DOMAIN...
                                            clients that resolved these names (or subdomains) in the query history
                                            (history.enabled; through the admin API); --record opens retro incidents`,
  'pool-ips': `  poolsink pool-ips [--config FILE] [--format table|text|json|nftables|iptables|suricata] [--action drop|alert]
                                            known mining pool addresses (ip lists, learned) from the running server;
                                            the firewall formats are whole files (nft -f, ipset restore, Suricata rules)`,
  token: `  poolsink token rotate [--config FILE]     a new admin token (printed once); the old one stops working`,
  help: `  poolsink help [COMMAND]                   this text (also --help, -h)`,
} as const;

export type CommandName = keyof typeof COMMAND_USAGE;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMAND_USAGE, name);
}

const CONFIG_NOTE = `--config FILE: else $POOLSINK_CONFIG, else ./poolsink.yaml, else /etc/poolsink/poolsink.yaml
kill -HUP <pid>: the running server reads its configuration file again (see README)`;

/** The whole text, or one command's lines. */
export function usage(command?: CommandName): string {
  const lines = command === undefined ? Object.values(COMMAND_USAGE) : [COMMAND_USAGE[command]];
  return `usage:\n${lines.join('\n')}\n\n${CONFIG_NOTE}\n`;
}
