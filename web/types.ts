/** The admin API's reply shapes the dashboard reads (README "Admin API", GET /api/v1/openapi.json). */
export interface HostIdentity {
  readonly name?: string;
  readonly instanceId?: string;
  readonly account?: string;
  readonly region?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly source: string;
}

export interface EventView {
  readonly id: number;
  readonly time: string;
  readonly clientIp: string;
  readonly protocol: string;
  readonly qname: string;
  readonly qtype: number;
  readonly list: string;
  readonly rule: string;
  readonly action: string;
  /** Queries the row stands for (coalesced repeats). */
  readonly count: number;
  readonly incidentId: number | null;
  readonly identity: HostIdentity | null;
}

export interface EventPage {
  readonly events: readonly EventView[];
  readonly nextCursor: string | null;
}

export interface HostView {
  readonly clientIp: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly blockedCount: number;
  readonly distinctDomains: number;
  readonly topDomains: readonly { readonly domain: string; readonly count: number }[];
  readonly incidentId: number | null;
  readonly identity: HostIdentity | null;
}

export interface Incident {
  readonly id: number;
  readonly clientIp: string;
  readonly identity: HostIdentity | null;
  readonly state: 'open' | 'acknowledged' | 'resolved';
  readonly severity: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly attempts: number;
  readonly distinctNames: number;
  readonly lists: readonly string[];
  readonly protocols: readonly string[];
  /** Found by a retro-hunt in the query history, not by a blocked query. */
  readonly retro: boolean;
  readonly acknowledged: { readonly at: string; readonly note: string } | null;
  readonly resolved: { readonly at: string; readonly note: string; readonly by: string } | null;
}

export interface IncidentPage {
  readonly incidents: readonly Incident[];
  readonly nextCursor: string | null;
}

export interface IncidentDetail {
  readonly incident: Incident;
  readonly names: readonly {
    readonly qname: string;
    readonly list: string;
    readonly count: number;
    readonly firstSeen: string;
    readonly lastSeen: string;
  }[];
  readonly hours: readonly { readonly hour: string; readonly count: number }[];
  readonly recentEvents: readonly EventView[];
  readonly history: readonly {
    readonly time: string;
    readonly change: string;
    readonly state: string;
    readonly actor: string;
    readonly note: string | null;
  }[];
  readonly minerLogins: readonly MinerLogin[];
}

/** A stratum login at the honeypot; every string but the protocol was sent by the client. */
export interface MinerLogin {
  readonly id: number;
  readonly time: string;
  readonly clientIp: string;
  readonly clientPort: number;
  readonly port: number;
  readonly tls: boolean;
  readonly protocol: string;
  readonly login: string;
  readonly wallet: string;
  readonly worker: string | null;
  readonly password: string | null;
  readonly agent: string | null;
  readonly algorithms: readonly string[];
}

export interface ListView {
  readonly name: string;
  readonly source: string;
  readonly format: string;
  readonly mode: string;
  readonly origin: string;
  readonly entries: number;
  readonly lastFetch: string | null;
  readonly ageSec: number | null;
  readonly lastError: string | null;
}

export interface RefreshResult {
  readonly name: string;
  readonly outcome: string;
  readonly entries: number;
  readonly previousEntries: number;
  readonly message?: string;
}

export interface UpstreamHealth {
  readonly upstream: string;
  readonly consecutiveFailures: number;
  readonly lastError?: string;
}

export interface NotifySink {
  readonly name: string;
  readonly type?: string;
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
  readonly lastSuccessAt: string | null;
  readonly queueDepth: number;
  readonly delivered: number;
  readonly failed: number;
  readonly held: number;
}

export interface Verdict {
  readonly domain: string;
  readonly verdict: string;
  readonly list?: string;
  readonly rule?: string;
}

export interface Overview {
  readonly incidents: {
    readonly open: number;
    readonly acknowledged: number;
    readonly openBySeverity: Readonly<Record<string, number>>;
  };
  readonly hostsAffected24h: number;
  readonly topNames: readonly { readonly name: string; readonly count: number; readonly list: string | null }[];
  readonly outcomes: { readonly last24h: Readonly<Record<string, number>> };
  readonly lists: readonly (ListView & { readonly ok: boolean })[];
  readonly upstreams: readonly (UpstreamHealth & { readonly healthy: boolean })[];
  readonly store: {
    readonly healthy: boolean;
    readonly written: number;
    readonly dropped: number;
    readonly droppedLast24h: number;
    readonly buffered: number;
    readonly writeErrors: number;
    readonly lastError?: string;
  };
}
