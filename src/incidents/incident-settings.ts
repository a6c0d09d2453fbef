/** The writer thread's incident settings from the configuration (incidents:, blocklists[].severity). */
import type { Config } from '../config/types.js';
import type { IncidentSettings } from '../store/writer-protocol.js';
import type { Severity } from './incident-state.js';

export function incidentSettings(config: Pick<Config, 'incidents' | 'blocklists'>): IncidentSettings {
  const severities: Record<string, Severity> = {};
  for (const list of config.blocklists) if (list.severity !== undefined) severities[list.name] = list.severity;
  return { autoResolveHours: config.incidents.autoResolveHours, severities };
}
