// What /proc says about processes: their start time and command line, which ones hold a file or a
// socket open, and which sockets listen. Read-only: nothing here signals a process.
import fs from 'node:fs';
import path from 'node:path';

const PROC = '/proc';

export interface ProcStat {
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot. With the pid, it names one process for the host's uptime. */
  startTime: string;
  /** Field 5: the process group. */
  pgid: number;
  /** Field 3: R, S, D, Z (exited, not yet reaped)… */
  state: string;
}

export function procStat(pid: number, procDir = PROC): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(procDir, String(pid), 'stat'), 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses:
  // fields 3 onwards start after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const startTime = rest[22 - 3];
  const pgid = Number(rest[5 - 3]);
  return startTime ? { startTime, pgid, state: rest[0]! } : undefined;
}

/** The argument vector of a process; undefined when it is gone or not ours to read. */
export function procCmdline(pid: number, procDir = PROC): string[] | undefined {
  try {
    return fs.readFileSync(path.join(procDir, String(pid), 'cmdline'), 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** The user name owning a process (its uid when /etc/passwd does not name it; `?` when it is gone). */
export function procUser(pid: number, procDir = PROC): string {
  let uid: string | undefined;
  try {
    uid = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(path.join(procDir, String(pid), 'status'), 'utf8'))?.[1];
  } catch {
    return '?';
  }
  if (uid === undefined) return '?';
  try {
    const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === uid);
    return line?.split(':')[0] || uid;
  } catch {
    return uid;
  }
}

export interface OpenBy {
  pid: number;
  command: string;
  /** The link targets of its descriptors that matched. */
  targets: string[];
}

/** Processes with a descriptor whose link target (a path, `socket:[inode]`) passes `wanted`. */
export function processesWithOpen(wanted: (target: string) => boolean, procDir = PROC): OpenBy[] {
  const found: OpenBy[] = [];
  let pids: string[];
  try {
    pids = fs.readdirSync(procDir).filter((d) => /^\d+$/.test(d));
  } catch {
    return found;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(path.join(procDir, pid, 'fd'));
    } catch {
      continue; // gone, or not ours to read
    }
    const open = new Set<string>();
    for (const fd of fds) {
      try {
        const target = fs.readlinkSync(path.join(procDir, pid, 'fd', fd));
        if (wanted(target)) open.add(target);
      } catch {
        /* closed meanwhile */
      }
    }
    if (!open.size) continue;
    const command = (procCmdline(Number(pid), procDir) ?? []).join(' ');
    found.push({ pid: Number(pid), command: command.slice(0, 200), targets: [...open].sort() });
  }
  return found;
}

export interface ListeningSocket {
  address: string;
  port: number;
  inode: string;
}

/** LISTEN sockets from /proc/net/tcp{,6}: address, port and inode. */
export function listeningSockets(procDir = PROC): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const file of ['net/tcp', 'net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(procDir, file), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] !== '0A') continue;
      const [hex, portHex] = cols[1]!.split(':');
      out.push({ address: decodeAddress(hex!), port: parseInt(portHex!, 16), inode: cols[9]! });
    }
  }
  return out;
}

function decodeAddress(hex: string): string {
  if (hex.length === 8) return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  if (hex === '0'.repeat(32)) return '::';
  if (hex === '00000000000000000000000001000000') return '::1';
  if (hex.startsWith('0000000000000000FFFF0000')) return `::ffff:${decodeAddress(hex.slice(24))}`;
  return hex;
}

export interface PortListener {
  address: string;
  /** Undefined when the socket's owner is not readable by this user. */
  pid?: number;
  command?: string;
}

/** Who listens on a TCP port: one entry per socket, with its process when /proc lets us see it. */
export function listenersOn(port: number, procDir = PROC): PortListener[] {
  const sockets = listeningSockets(procDir).filter((s) => s.port === port);
  if (!sockets.length) return [];
  const byInode = new Map(sockets.map((s) => [`socket:[${s.inode}]`, s]));
  const owners = processesWithOpen((t) => byInode.has(t), procDir);
  return sockets.map((s) => {
    const owner = owners.find((o) => o.targets.includes(`socket:[${s.inode}]`));
    return { address: s.address, pid: owner?.pid, command: owner?.command };
  });
}
