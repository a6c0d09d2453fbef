/**
 * CPU time of another process, read from /proc. `ticks` is utime+stime of the whole process
 * (all threads, clock-tick resolution); `runNs` sums every thread's schedstat run time
 * (nanoseconds, but threads that already exited are not counted). The bench reports from runNs
 * when the kernel provides it and cross-checks it against ticks.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let clockTicksPerSec;

export function clockTicksPerSecond() {
  if (clockTicksPerSec === undefined) {
    try {
      clockTicksPerSec = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      clockTicksPerSec = NaN; // getconf missing: fall back below
    }
    if (!Number.isFinite(clockTicksPerSec) || clockTicksPerSec <= 0) clockTicksPerSec = 100;
  }
  return clockTicksPerSec;
}

function readTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may itself contain ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return Number(fields[11]) + Number(fields[12]);
}

function readRunNs(pid) {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread exited between readdir and read: its time is lost either way
    }
  }
  return total;
}

/**
 * A snapshot of a process's CPU use: { ticks, runNs (undefined without schedstat), mainRunNs (its
 * main thread alone: in poolsink the DNS thread, without the block-log writer thread), atMs }.
 */
export function sampleCpu(pid) {
  let runNs;
  let mainRunNs;
  try {
    runNs = readRunNs(pid);
    mainRunNs = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    runNs = undefined; // kernel without schedstat
  }
  return { ticks: readTicks(pid), runNs, mainRunNs, atMs: performance.now() };
}

/** Main-thread CPU microseconds between two samples, or undefined without schedstat. */
export function mainThreadMicros(before, after) {
  return before.mainRunNs !== undefined && after.mainRunNs !== undefined
    ? (after.mainRunNs - before.mainRunNs) / 1e3
    : undefined;
}

/** CPU microseconds spent between two samples, preferring the nanosecond source. */
export function cpuMicros(before, after) {
  const fromTicks = ((after.ticks - before.ticks) * 1e6) / clockTicksPerSecond();
  const fromSchedstat =
    before.runNs !== undefined && after.runNs !== undefined ? (after.runNs - before.runNs) / 1e3 : undefined;
  return { micros: fromSchedstat ?? fromTicks, fromTicks, fromSchedstat };
}

/** Resident set size in bytes (VmRSS), or undefined once the process is gone. */
export function readRssBytes(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined; // process already exited
  }
}

/** Run-time nanoseconds of each of this process's threads (schedstat), by thread id. */
export function threadRunNs() {
  const byTid = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      byTid.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // the thread ended between readdir and read
    }
  }
  return byTid;
}

/**
 * Samples `pid`'s CPU until it has used under 5% of a core for 200 ms, at most `maxWaitMs`; returns
 * the sample where that idle stretch began (or the last one at the deadline).
 */
export async function untilIdle(pid, maxWaitMs) {
  const deadline = performance.now() + maxWaitMs;
  let previous = sampleCpu(pid);
  let idleSince;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const current = sampleCpu(pid);
    const busy = cpuMicros(previous, current).micros / ((current.atMs - previous.atMs) * 1e3);
    if (busy < 0.05) idleSince ??= previous;
    else idleSince = undefined;
    if ((idleSince !== undefined && current.atMs - idleSince.atMs >= 200) || current.atMs > deadline)
      return idleSince ?? current;
    previous = current;
  }
}
