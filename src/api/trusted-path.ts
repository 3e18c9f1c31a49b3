import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Why a path cannot be trusted: the component at fault and what is wrong with it. */
export interface UntrustedComponent {
  path: string;
  problem: 'owner' | 'writable';
  /** The component's owner and permission bits, for the message. */
  uid: number;
  mode: number;
}

/** The effective uid of this process; null where there are no uids (Windows): nothing to check. */
export function currentUid(): number | null {
  return typeof process.geteuid === 'function' ? process.geteuid() : null;
}

/**
 * Checks every component leading to `path`, and `path` itself, as ssh checks the way to a key
 * file: each must belong to `uid` or root, and no directory among them may be writable by group
 * or others unless it is sticky (as /tmp is: others can add names there, but never move or
 * replace ours). Anyone who could rename one of them could swap what lies beneath. Both the path
 * as written and its real path (after symlinks) are checked: a link is only as safe as the
 * directory it sits in, and its target as the directories above that. Components that do not
 * exist yet are not a problem here: the caller creates them, or fails on them.
 */
export function untrustedComponent(path: string, uid: number): UntrustedComponent | null {
  const written = resolve(path);
  const found = checkChain(written, uid);
  if (found !== null) return found;
  const real = realExisting(written);
  return real === written ? null : checkChain(real, uid);
}

function checkChain(path: string, uid: number): UntrustedComponent | null {
  for (const component of ancestry(path)) {
    let st: Stats;
    try {
      st = lstatSync(component);
    } catch {
      return null;
    }
    if (st.uid !== uid && st.uid !== 0) return { path: component, problem: 'owner', uid: st.uid, mode: st.mode & 0o7777 };
    if (st.isDirectory() && (st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
      return { path: component, problem: 'writable', uid: st.uid, mode: st.mode & 0o7777 };
    }
  }
  return null;
}

/** The real path of `path`'s longest existing prefix (all of it when it exists). */
function realExisting(path: string): string {
  for (let p = path; ; p = dirname(p)) {
    try {
      return realpathSync(p);
    } catch {
      if (dirname(p) === p) return p;
    }
  }
}

/** '/a/b/c' → ['/', '/a', '/a/b', '/a/b/c']. */
function ancestry(path: string): string[] {
  const chain: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    chain.unshift(p);
    if (dirname(p) === p) return chain;
  }
}

/** What is wrong with `c`, and the command that fixes it. */
export function describeUntrusted(c: UntrustedComponent, uid: number): string {
  const mode = c.mode.toString(8).padStart(4, '0');
  return c.problem === 'owner'
    ? `${c.path} belongs to uid ${c.uid}, not to you (uid ${uid}) or root: use a directory of your own, or if it is yours check what is in it and \`chown -R ${uid} ${c.path}\``
    : `${c.path} is writable by others (mode ${mode}): \`chmod go-w ${c.path}\`, or use another directory`;
}
