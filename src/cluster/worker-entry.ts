/** The script node:cluster forks for each resolver process (dns.workers > 1). */
import { runClusterWorker } from './worker.js';

runClusterWorker();
