// The measuring instruments of make bench, and parsers for what they print. The parsers are
// pure (unit-tested on captured output); the rest runs docker.
//   vegeta   open-loop load at a fixed rate  -> latency percentiles, success ratio
//   wrk      closed loop, fixed connections  -> highest throughput and its latency
//   /proc    utime + stime and VmRSS of the mesh's processes, read inside their containers
//            (and on the host, for the docker-proxy in front of the edge's published port)
//   cgroups  every container's CPU time and memory in use, read on the host (the scaling curve)
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { docker } from '../lib/docker.js';
import { Failure } from '../lib/errors.js';

const exec = promisify(execFile);

/** Latency figures in milliseconds. */
export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadResult {
  loadgenCores?: number; // CPU the load generator itself used (it shares the machine)
  requests: number;
  seconds: number;
  rps: number; // requests completed per second
  ok: number; // share of 2xx answers, 0..1
  latencyMs: Latency;
}

const ms = (ns: number) => Math.round(ns / 1e3) / 1e3; // ns -> ms, to the microsecond

/** `vegeta report -type=json`. */
export function parseVegeta(text: string): LoadResult {
  const r = JSON.parse(text) as {
    latencies: Record<string, number>;
    requests: number;
    duration: number; // ns, first to last request sent
    wait: number; // ns, last request sent to its answer
    throughput: number;
    success: number;
  };
  return {
    requests: r.requests,
    seconds: Math.round((r.duration + r.wait) / 1e6) / 1e3,
    rps: Math.round(r.throughput * 10) / 10,
    ok: r.success,
    latencyMs: {
      p50: ms(r.latencies['50th']!),
      p90: ms(r.latencies['90th']!),
      p99: ms(r.latencies['99th']!),
      max: ms(r.latencies.max!),
    },
  };
}

/** The JSON line scripts/bench/loadgen/report.lua prints at the end of wrk's output. */
export function parseWrk(text: string): LoadResult {
  const line = text
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Failure(`wrk printed no result: ${text.trim().slice(-300)}`);
  const r = JSON.parse(line) as {
    requests: number;
    duration_us: number;
    p50: number;
    p90: number;
    p99: number;
    max: number;
    non2xx: number;
    errors: number;
  };
  const us = (v: number) => Math.round(v) / 1e3;
  return {
    requests: r.requests,
    seconds: r.duration_us / 1e6,
    rps: Math.round((r.requests / (r.duration_us / 1e6)) * 10) / 10,
    ok: r.requests === 0 ? 0 : Math.max(0, r.requests - r.non2xx - r.errors) / r.requests,
    latencyMs: { p50: us(r.p50), p90: us(r.p90), p99: us(r.p99), max: us(r.max) },
  };
}

/** Runs a shell command and then the shell's `times`, so its children's CPU time is known. */
export const withTimes = (command: string) => `${command}; echo '=== times'; times`;

/** Splits withTimes() output: the command's own output, and the CPU seconds its children used. */
export function splitTimes(text: string): { output: string; cpuSeconds: number } {
  const [output = '', times = ''] = text.split('=== times\n');
  // `times` prints the shell's user and system time, then its children's: "0m1.236000s 0m0.476000s".
  const t = [...times.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { output, cpuSeconds: (t[2] ?? 0) + (t[3] ?? 0) };
}

/** A process of the mesh at one moment: its CPU time so far and its resident memory. */
export interface ProcSample {
  pid: number;
  command: string; // argv[0]'s base name: envoy, node, vegeta, wrk
  cpuSeconds: number; // utime + stime
  kernelSeconds: number; // stime: in system calls and the network stack on its behalf
  rssMB: number; // VmRSS: resident memory, the binary's mapped pages included
  privateMB: number; // RssAnon: its own heap and stacks, which no other process shares
}

// One line per process: pid <TAB> argv joined by spaces <TAB> /proc/pid/stat <TAB> "VmRSS: n kB RssAnon: n kB".
export const PROCS_SCRIPT =
  'for d in /proc/[0-9]*; do [ -r "$d/stat" ] || continue; ' +
  'printf "%s\\t%s\\t%s\\t%s\\n" "${d#/proc/}" "$(tr "\\0" " " < "$d/cmdline")" "$(cat "$d/stat")" "$(grep -E "^(VmRSS|RssAnon)" "$d/status" | tr "\\t\\n" "  ")"; done 2>/dev/null';
const CLOCK_TICKS = 100; // USER_HZ: the unit of /proc/pid/stat times on Linux

const megabytes = (kB: string | undefined) => Math.round((Number(kB ?? 0) / 1024) * 10) / 10;

export function parseProcs(text: string): ProcSample[] {
  const out: ProcSample[] = [];
  for (const line of text.split('\n')) {
    const [pid, cmdline, stat, memory = ''] = line.split('\t');
    if (!pid || !cmdline || !stat) continue;
    // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const command = cmdline.trim().split(' ')[0]!.split('/').at(-1)!;
    out.push({
      pid: Number(pid),
      command,
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
      kernelSeconds: Number(fields[12]) / CLOCK_TICKS,
      rssMB: megabytes(/VmRSS:\s*(\d+) kB/.exec(memory)?.[1]),
      privateMB: megabytes(/RssAnon:\s*(\d+) kB/.exec(memory)?.[1]),
    });
  }
  return out;
}

export const readProcs = async (container: string) =>
  parseProcs(await docker(['exec', container, 'sh', '-c', PROCS_SCRIPT]));

/** CPU used (in cores) by one process between two samples, and its memory (MB) at the end. */
export interface Usage {
  cores: number;
  kernelShare: number; // of that CPU, the share spent in the kernel (0..1)
  rssMB: number;
  privateMB: number;
}

export function usage(
  before: ProcSample[],
  after: ProcSample[],
  command: string,
  seconds: number,
): Usage | null {
  // The process of that name present in both samples (same pid) that used the most CPU: a
  // short-lived one of the same name, such as the container's health check (node -e ...),
  // is in at most one of them.
  const pairs = after.flatMap((now) => {
    const was = before.find((p) => p.pid === now.pid);
    return now.command === command && was
      ? [{ now, was, cpu: now.cpuSeconds - was.cpuSeconds }]
      : [];
  });
  const busiest = pairs.sort((a, b) => b.cpu - a.cpu)[0];
  if (!busiest) return null;
  const { now, was, cpu } = busiest;
  return {
    cores: Math.round((cpu / seconds) * 100) / 100,
    kernelShare:
      cpu > 0 ? Math.round(((now.kernelSeconds - was.kernelSeconds) / cpu) * 100) / 100 : 0,
    rssMB: now.rssMB,
    privateMB: now.privateMB,
  };
}

/**
 * Several processes' usage as one (compose's two edges, each in a container of its own):
 * cores and memory added, the kernel's share weighted by cores. null when none was found.
 */
export function addUsage(parts: (Usage | null)[]): Usage | null {
  const found = parts.filter((u): u is Usage => u !== null);
  if (found.length === 0) return null;
  const cores = found.reduce((sum, u) => sum + u.cores, 0);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    cores: round(cores),
    kernelShare:
      cores > 0 ? round(found.reduce((sum, u) => sum + u.kernelShare * u.cores, 0) / cores) : 0,
    rssMB: round(found.reduce((sum, u) => sum + u.rssMB, 0)),
    privateMB: round(found.reduce((sum, u) => sum + u.privateMB, 0)),
  };
}

/** A container's totals at one moment, from its cgroup: CPU time so far and memory in use. */
export interface CgroupSample {
  cpuMicros: number;
  memoryBytes: number; // usage less inactive file pages, as `docker stats` counts it
}

/** cgroup v2's cpu.stat: its usage_usec line. */
export const parseCpuStat = (text: string) => Number(/^usage_usec (\d+)$/m.exec(text)?.[1] ?? NaN);

/** Memory in use: the cgroup's usage less its inactive file pages (v1: total_inactive_file, v2: inactive_file). */
export function memoryInUse(usageBytes: number, stat: string): number {
  // v1 lists the cgroup's own inactive_file (0 for a container's, whose pages sit in its
  // children) before total_inactive_file: take the total where there is one.
  const inactive = Number(
    (/^total_inactive_file (\d+)$/m.exec(stat) ?? /^inactive_file (\d+)$/m.exec(stat))?.[1] ?? 0,
  );
  return Math.max(0, usageBytes - inactive);
}

// Where a container's cgroup files are: cgroup v2 under systemd, v2 under cgroupfs, or v1.
const CGROUP_LAYOUTS = [
  (id: string) => ({
    cpu: `/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`,
    memory: `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.current`,
    stat: `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.stat`,
    v1: false,
  }),
  (id: string) => ({
    cpu: `/sys/fs/cgroup/docker/${id}/cpu.stat`,
    memory: `/sys/fs/cgroup/docker/${id}/memory.current`,
    stat: `/sys/fs/cgroup/docker/${id}/memory.stat`,
    v1: false,
  }),
  (id: string) => ({
    cpu: `/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`,
    memory: `/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`,
    stat: `/sys/fs/cgroup/memory/docker/${id}/memory.stat`,
    v1: true,
  }),
];

/** A container's cgroup figures, read on this host (make bench runs beside the engine, as root). */
export function readCgroup(id: string): CgroupSample {
  for (const layout of CGROUP_LAYOUTS) {
    const p = layout(id);
    if (!existsSync(p.cpu)) continue;
    const cpu = readFileSync(p.cpu, 'utf8');
    return {
      cpuMicros: p.v1 ? Number(cpu) / 1000 : parseCpuStat(cpu),
      memoryBytes: memoryInUse(
        Number(readFileSync(p.memory, 'utf8')),
        readFileSync(p.stat, 'utf8'),
      ),
    };
  }
  throw new Failure(
    `no cgroup figures for container ${id} on this host: make bench runs on the Docker engine's own host`,
  );
}

/** Every container's CPU (cores) between two samples of the same set, and their memory at the end (MB). */
export function cgroupTotals(
  before: Map<string, CgroupSample>,
  after: Map<string, CgroupSample>,
  seconds: number,
): { cores: number; memoryMB: number } {
  let cpu = 0,
    memory = 0;
  for (const [id, now] of after) {
    const was = before.get(id);
    if (was) cpu += now.cpuMicros - was.cpuMicros;
    memory += now.memoryBytes;
  }
  return {
    cores: Math.round((cpu / 1e6 / seconds) * 100) / 100,
    memoryMB: Math.round(memory / 2 ** 20),
  };
}

/** The whole machine's context switches and interrupts so far (/proc/stat's ctxt and intr). */
export interface SystemCounters {
  switches: number;
  interrupts: number;
}

export function parseProcStat(text: string): SystemCounters {
  const field = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { switches: field('ctxt'), interrupts: field('intr') };
}

export const readSystemCounters = () => parseProcStat(readFileSync('/proc/stat', 'utf8'));

/** Context switches and interrupts per request between two readings, the whole machine's. */
export function countsPerRequest(
  before: SystemCounters,
  after: SystemCounters,
  requests: number,
): { switches: number; interrupts: number } {
  const per = (n: number) => Math.round((n / Math.max(1, requests)) * 10) / 10;
  return {
    switches: per(after.switches - before.switches),
    interrupts: per(after.interrupts - before.interrupts),
  };
}

/** The processes of this host, for the docker-proxy in front of a published port. */
export const readHostProcs = async () =>
  parseProcs((await exec('sh', ['-c', PROCS_SCRIPT], { maxBuffer: 16 * 2 ** 20 })).stdout);
