import { validate } from 'dockerfile-utils';

/**
 * Lints deploy/docker/Dockerfile: the syntax checks of dockerfile-utils (the linter behind
 * the Docker language server; hadolint is not packaged for Debian or npm), then our own
 * rules, hadolint's that matter here among them (DL codes in the messages).
 */

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

/** Instructions with continuation lines joined and comments dropped. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return;
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = `${pending}${line}`;
    pending = '';
    const match = /^(\S+)\s*(.*)$/.exec(full);
    if (match)
      out.push({ keyword: (match[1] as string).toUpperCase(), args: match[2] as string, line: start });
  });
  return out;
}

const REQUIRED_LABELS = ['title', 'description', 'source', 'licenses', 'version', 'revision', 'created'];

/** Every problem found, as `line N: message`; empty when the Dockerfile passes. */
export function lintDockerfile(text: string): string[] {
  const problems = validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
  const all = instructions(text);
  const at = (i: Instruction, message: string) => problems.push(`line ${i.line}: ${message}`);
  const defaults = new Map<string, string>();
  for (const i of all.filter((x) => x.keyword === 'ARG')) {
    const [name, value] = i.args.split('=', 2);
    if (value !== undefined) defaults.set(name as string, value);
    if (/SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY/i.test(name as string))
      at(i, `ARG ${name}: a build argument is kept in the image history; use a build secret`);
  }
  const froms = all.filter((x) => x.keyword === 'FROM');
  if (froms.length < 2) problems.push('not a multi-stage build');
  for (const from of froms) {
    const image = (from.args.split(/\s+/)[0] as string).replace(
      /^\$\{?(\w+)\}?$/,
      (_, n: string) => defaults.get(n) ?? '',
    );
    if (!/^node:24\.\d+\.\d+-[a-z]+(-slim)?(@sha256:[0-9a-f]{64})?$/.test(image))
      at(
        from,
        `FROM ${from.args}: base must be the official node image, Node 24, exact version (DL3006/DL3007)`,
      );
  }
  const lastFrom = froms.at(-1);
  const final = lastFrom === undefined ? [] : all.filter((x) => x.line >= lastFrom.line);
  for (const i of all) {
    if (i.keyword === 'ADD') at(i, 'ADD: use COPY (DL3020)');
    if (i.keyword === 'MAINTAINER') at(i, 'MAINTAINER is deprecated: a LABEL (DL4000)');
    if (i.keyword === 'RUN' && /\b(curl|wget)\b/.test(i.args))
      at(i, 'RUN downloads: nothing may be fetched but npm packages');
    if (i.keyword === 'RUN' && /\bsudo\b/.test(i.args)) at(i, 'sudo (DL3004)');
    if (i.keyword === 'RUN' && /\bnpm (install|i)\b/.test(i.args))
      at(i, 'npm install: npm ci installs the lock as it is (DL3016)');
    if (i.keyword === 'WORKDIR' && !i.args.startsWith('/')) at(i, 'WORKDIR must be absolute (DL3000)');
    if (i.keyword === 'ENV' && /(SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY)\w*=/i.test(i.args))
      at(i, 'ENV holds a secret');
    if (i.keyword === 'COPY' && /(^|\s)\.\s+\.?\/?$/.test(i.args))
      at(i, 'COPY . copies the whole context: copy what the stage needs');
  }
  if (!all.some((i) => i.keyword === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args)))
    problems.push('no `npm ci --omit=dev`: the image must hold production dependencies only');
  const user = final.filter((i) => i.keyword === 'USER').at(-1);
  if (user === undefined) problems.push('final stage: no USER, the container would run as root (DL3002)');
  else if (!/^[1-9]\d*(:[1-9]\d*)?$/.test(user.args))
    at(user, 'USER must be a numeric non-root uid, so Kubernetes can check runAsNonRoot');
  if (!final.some((i) => i.keyword === 'HEALTHCHECK' && /CMD/.test(i.args)))
    problems.push('final stage: no HEALTHCHECK');
  const entry = final.filter((i) => i.keyword === 'ENTRYPOINT' || i.keyword === 'CMD');
  if (entry.length === 0) problems.push('final stage: no ENTRYPOINT or CMD');
  for (const i of entry) {
    if (!i.args.startsWith('['))
      at(i, `${i.keyword} in shell form: a shell as PID 1 would not pass SIGTERM on (DL3025)`);
  }
  if (!final.some((i) => i.keyword === 'STOPSIGNAL' && i.args === 'SIGTERM'))
    problems.push('final stage: STOPSIGNAL SIGTERM missing');
  const labels = final
    .filter((i) => i.keyword === 'LABEL')
    .map((i) => i.args)
    .join(' ');
  for (const label of REQUIRED_LABELS) {
    if (!labels.includes(`org.opencontainers.image.${label}=`))
      problems.push(`final stage: OCI label ${label} missing`);
  }
  return problems;
}
