// What a target (compose, plain docker, Swarm, Kubernetes) hands the conformance suite: how a
// client reaches its edge, how to start a workload beside the mesh that is not part of it, how
// to look inside a running workload, and how a user removes a replica. Everything else the
// suite does is the same on every target (conformance/suite.ts).

/** A long-running workload of the mesh (a container, a Pod's container). */
export interface Workload {
  /** what a person would call it in a failure: usermesh-usersvc-1, usersvc-7f9c/usersvc */
  name: string;
  /** its service: usersvc, edge, postgres, ... */
  service: string;
}

/** What one GET answered from where the suite sent it: a status, or why there was none. */
export interface Probe {
  status?: number;
  location?: string;
  error?: string;
}

/** Why an engine cannot give a guarantee, and what stands in for it (said in the table). */
export type Exemptions = Partial<Record<'noNewPrivileges', string>>;

export interface Target {
  /** its column in the table: 'compose v2', 'docker run', 'swarm', 'kubernetes' */
  name: string;
  /** HTTPS as a client on the test's host reaches it, and the CA that client trusts */
  https: { host: string; port: number; servername: string; ca: string };
  /** the address and ports of the edge as a client on another machine reaches it */
  outside: { address: string; https: number; plain: number[]; admin: number[] };
  /** one GET per URL from that other machine (no certificate checked): what each answered */
  fromOutside(urls: string[]): Promise<Probe[]>;
  /** a burst of `count` GETs of `url` from that machine, `concurrency` at once: their statuses */
  burstFromOutside(url: string, count: number, concurrency: number): Promise<number[]>;
  /**
   * An ES module run by node in a workload of its own on the mesh's network, holding no
   * identity of the mesh: its stdout, parsed as JSON. Mesh names resolve there (usersvc, edge,
   * postgres).
   */
  neighbour<T>(script: string): Promise<T>;
  /** the mesh's long-running workloads, running now */
  workloads(): Promise<Workload[]>;
  /**
   * `sh -c script` inside a workload, as an unprivileged user (the process listing must not
   * count itself as a root process) or as the user id given (on Kubernetes: the container of
   * the Pod that runs as it); its stdout.
   */
  exec(w: Workload, script: string, user?: number | 'nobody'): Promise<string>;
  /** the per-client limits of the edge: the defaults, or lifted (the load checks use that) */
  limits(which: 'default' | 'lifted'): Promise<void>;
  /** a base URL the suite's steady load uses, and how a user removes one replica of usersvc */
  loadBase: string;
  removeReplica(): Promise<string>;
  exemptions?: Exemptions;
}
