// Restarting the Docker engine the tests run on, as a reboot would: every container stops,
// then the engine starts again and brings back what its restart policies say. Under systemd,
// `systemctl restart docker`; otherwise (CI: scripts/ci.sh starts dockerd in the background)
// the running dockerd is stopped with SIGTERM, as a shutdown stops it, and started again with
// the same arguments and log file, in a session of its own so that it outlives the test.
import { execFile, spawn } from 'node:child_process';
import { openSync, readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const engineAnswers = () =>
  exec('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 10_000 }).then(
    () => true,
    () => false,
  );

async function underSystemd(): Promise<boolean> {
  return exec('systemctl', ['is-active', '--quiet', 'docker']).then(
    () => true,
    () => false,
  );
}

/** Restarts the engine and waits until it answers again (2 minutes at most); how long it was gone, in ms. */
export async function restartEngine(): Promise<number> {
  const started = Date.now();
  if (await underSystemd()) {
    await exec('systemctl', ['restart', 'docker'], { timeout: 180_000 });
  } else {
    const pid = Number(readFileSync('/var/run/docker.pid', 'utf8').trim());
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    let log = '/tmp/dockerd.log';
    try {
      const out = readlinkSync(`/proc/${pid}/fd/1`);
      if (out.startsWith('/')) log = out;
    } catch {
      // no readable stdout: the default log file
    }
    process.kill(pid, 'SIGTERM');
    for (const deadline = Date.now() + 120_000; alive(pid); await sleep(200)) {
      if (Date.now() > deadline)
        throw new Error(`dockerd (PID ${pid}) did not stop within 2 minutes of SIGTERM`);
    }
    const fd = openSync(log, 'a');
    spawn(args[0]!, args.slice(1), { detached: true, stdio: ['ignore', fd, fd] }).unref();
  }
  for (const deadline = Date.now() + 120_000; !(await engineAnswers()); await sleep(250)) {
    if (Date.now() > deadline)
      throw new Error('the Docker engine did not answer within 2 minutes of its restart');
  }
  return Date.now() - started;
}
