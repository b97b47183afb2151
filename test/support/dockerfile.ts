// What the image's Dockerfile says about the process it runs, for the tests and the benchmark that run that process
// without a container engine.

/**
 * The environment the final stage sets (its ENV instructions after the last FROM), as the process in the container
 * sees it. Both forms: `ENV A=1 B=2` and the legacy `ENV A 1`; double-quoted values lose their quotes.
 */
export function imageEnv(dockerfile: string): Record<string, string> {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n');
  const lastFrom = lines.findLastIndex((l) => /^\s*FROM\s/i.test(l));
  const out: Record<string, string> = {};
  for (const line of lines.slice(lastFrom + 1)) {
    const m = /^\s*ENV\s+(.*)$/i.exec(line);
    if (!m) continue;
    const body = m[1]!.trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(body)) {
      const [key, ...rest] = body.split(/\s+/);
      out[key!] = rest.join(' ');
      continue;
    }
    for (const pair of body.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      const value = pair[2]!;
      out[pair[1]!] = value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
    }
  }
  return out;
}
