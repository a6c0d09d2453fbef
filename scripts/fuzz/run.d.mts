/** Types for run.mjs (plain JS so that scripts run without a build). */
export declare const RCODE_NAMES: readonly string[];

export declare function isLoopback(host: string): boolean;

export interface AnswerTally {
  total: number;
  byRcode: Record<string, number>;
  notResponse: number;
  unexpectedId: number;
  short: number;
}

export interface FuzzResult {
  seed: number;
  durationMs: number;
  sent: { udp: number; tcp: number; total: number };
  answers: { udp: AnswerTally; tcp: AnswerTally };
  tcp: { connections: number; resets: number; errors: number; stalled: number };
  kinds: Record<string, number>;
}

export interface FuzzOptions {
  host?: string;
  port: number;
  count: number;
  seed?: number;
  tcpShare?: number;
  sources?: number;
  socketsPerSource?: number;
  window?: number;
  connections?: number;
  onProgress?: (sent: number) => void;
}

export declare function runFuzz(options: FuzzOptions): Promise<FuzzResult>;

export declare function answerProblems(result: FuzzResult): string[];

export interface NormalAnswer {
  answered: boolean;
  idMatches?: boolean;
  rcode?: string;
  answerCount?: number;
  questionEchoed?: boolean;
}

export declare function checkNormalQuery(options: {
  host?: string;
  port: number;
  qname: string;
  timeoutMs?: number;
}): Promise<{ udp: NormalAnswer; tcp: NormalAnswer }>;
