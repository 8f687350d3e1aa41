import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../errors.js';
import type { Problem } from '../errors.js';
import { fileSources, formatJsonPath, validateScore, validateScoreObject } from './index.js';

const fixtures = new URL('./fixtures/', import.meta.url);
const read = (folder: string, name: string): string =>
  readFileSync(new URL(`${folder}/${name}`, fixtures), 'utf8');
const list = (folder: string): string[] =>
  readdirSync(new URL(`${folder}/`, fixtures))
    .filter((name) => name.endsWith('.yaml'))
    .sort();
const errors = (problems: Problem[]): Problem[] => problems.filter((problem) => problem.severity === 'error');
const warnings = (problems: Problem[]): Problem[] =>
  problems.filter((problem) => problem.severity === 'warning');

/** Valid fixtures expected to carry warnings; every other valid fixture has no problem at all. */
const VALID_WITH_WARNINGS: Record<string, number> = { 'deprecated-lists.yaml': 2 };

describe('valid fixtures', () => {
  it.each(list('valid'))('%s validates', (name) => {
    const result = validateScore(read('valid', name), { file: name });
    expect(errors(result.problems)).toEqual([]);
    expect(warnings(result.problems)).toHaveLength(VALID_WITH_WARNINGS[name] ?? 0);
    expect(result.workload?.apiVersion).toBe('score.dev/v1b1');
  });

  it('keeps every field of the full example', () => {
    const { workload } = validateScore(read('valid', 'full.yaml'));
    const app = workload?.containers.app;
    expect(workload?.metadata).toMatchObject({ name: 'full-example', owner: 'team-a' });
    expect(workload?.service?.ports?.http).toEqual({ port: 80, targetPort: 8080, protocol: 'TCP' });
    expect(app?.command).toEqual(['/app/bin/start']);
    expect(app?.files?.['/etc/app/config.yaml']).toMatchObject({ mode: '0600', noExpand: false });
    expect(app?.volumes?.['/data']).toEqual({ source: '${resources.data}', path: 'app', readOnly: false });
    expect(app?.resources?.requests).toEqual({ cpu: '0.1', memory: '0.5Gi' });
    expect(app?.readinessProbe?.httpGet?.httpHeaders).toEqual([{ name: 'X-Ready', value: 'yes' }]);
    expect(app?.before).toEqual({ init: { ready: 'complete' } });
    expect(workload?.resources?.db).toMatchObject({ type: 'postgres', class: 'default', id: 'main-db' });
    expect(workload?.resources?.db?.metadata).toEqual({
      annotations: { 'example.com/backup': 'daily' },
      extra: 'kept',
    });
  });
});

/**
 * Each invalid fixture holds one problem class. Columns are 1-based; a missing key is reported at
 * the key holding the mapping it belongs in; a placeholder problem at the placeholder itself.
 */
const INVALID: [file: string, line: number, column: number, path: string, message: string][] = [
  ['bad-cpu.yaml', 9, 14, 'containers.main.resources.requests.cpu', '"half" is not a CPU quantity'],
  ['bad-memory.yaml', 9, 17, 'containers.main.resources.limits.memory', '"1GB" is not a memory quantity'],
  ['before-bad-ready.yaml', 9, 16, 'containers.main.before.db.ready', 'ready is "running"'],
  [
    'before-cycle.yaml',
    13,
    7,
    'containers.worker.before.api',
    'containers "api" → "worker" → "api" wait for each other in before, so none could start',
  ],
  ['before-self.yaml', 8, 7, 'containers.main.before.main', 'container "main" cannot wait for itself'],
  [
    'before-unknown-container.yaml',
    8,
    7,
    'containers.main.before.database',
    '"database" is not a container of this workload (it has no other container)',
  ],
  ['command-not-list.yaml', 7, 14, 'containers.main.command', 'must be a list, not the string "npm start"'],
  ['duplicate-key.yaml', 7, 5, '', 'duplicate key "image"'],
  ['empty-containers.yaml', 4, 13, 'containers', 'containers is empty'],
  ['empty.yaml', 1, 1, '', 'the file is empty'],
  [
    'file-bad-base64.yaml',
    9,
    24,
    'containers.main.files["/etc/app.bin"].binaryContent',
    'binaryContent is not valid standard base64',
  ],
  [
    'file-bad-mode.yaml',
    9,
    15,
    'containers.main.files["/etc/app.conf"].mode',
    '"0999" is not an octal file mode',
  ],
  [
    'file-target-in-map.yaml',
    9,
    9,
    'containers.main.files["/etc/app.conf"].target',
    'target is only for the deprecated list form',
  ],
  [
    'file-two-contents.yaml',
    10,
    9,
    'containers.main.files["/etc/app.conf"].source',
    'a file takes exactly one of content, source or binaryContent, but this one has content and source',
  ],
  [
    'file-unquoted-mode.yaml',
    9,
    15,
    'containers.main.files["/etc/app.conf"].mode',
    'must be a string, not the number 644',
  ],
  [
    'file-without-content.yaml',
    8,
    7,
    'containers.main.files["/etc/app.conf"]',
    'a file needs exactly one of content, source or binaryContent',
  ],
  [
    'files-list-duplicate-target.yaml',
    10,
    17,
    'containers.main.files[1].target',
    'target "/etc/a" is already used by containers.main.files[0]',
  ],
  [
    'files-list-missing-target.yaml',
    8,
    9,
    'containers.main.files[0].target',
    'missing required field "target"',
  ],
  [
    'files-not-collection.yaml',
    7,
    12,
    'containers.main.files',
    'files must be a mapping of target path to file, e.g. "/etc/app.conf"',
  ],
  [
    'invalid-annotation-key.yaml',
    5,
    5,
    'metadata.annotations.-bad-key',
    '"-bad-key" is not a valid annotation key',
  ],
  ['invalid-container-name.yaml', 5, 3, 'containers.Web_1', '"Web_1" is not a valid container name'],
  ['invalid-workload-name.yaml', 3, 9, 'metadata.name', '"My_App" is not a valid workload name'],
  ['missing-api-version.yaml', 1, 1, 'apiVersion', 'missing required field "apiVersion"'],
  ['missing-containers.yaml', 1, 1, 'containers', 'missing required field "containers"'],
  ['missing-image.yaml', 5, 3, 'containers.main.image', 'missing required field "image"'],
  ['missing-metadata-name.yaml', 2, 1, 'metadata.name', 'missing required field "name"'],
  ['multiple-documents.yaml', 8, 1, '', 'a Score file holds exactly one workload, but this is document 2'],
  ['not-a-mapping.yaml', 1, 1, '', 'the document must be a mapping, not a list'],
  [
    'placeholder-empty-segment.yaml',
    8,
    11,
    'containers.main.variables.DB',
    'placeholder "${resources..host}" has an empty path segment',
  ],
  [
    'placeholder-escaped-dot-missing.yaml',
    10,
    14,
    'containers.main.variables.OWNER',
    '"${metadata.annotations.example\\.com/owner}" refers to metadata.annotations["example.com/owner"], which is not set (it has example.com/team)',
  ],
  [
    'placeholder-in-annotation.yaml',
    5,
    23,
    'metadata.annotations["example.com/name"]',
    '"${metadata.name}" is not expanded here',
  ],
  [
    'placeholder-in-file-content.yaml',
    11,
    19,
    'containers.main.files["/etc/app.conf"].content',
    '"${resources.cache.host}" refers to resource "cache", which is not declared (none are declared)',
  ],
  [
    'placeholder-in-image.yaml',
    6,
    33,
    'containers.main.image',
    '"${metadata.name}" is not expanded in image',
  ],
  [
    'placeholder-resource-cycle.yaml',
    15,
    13,
    'resources.bb.params.peer',
    'resources "aa" → "bb" → "aa" refer to each other in their params',
  ],
  [
    'placeholder-resource-self-reference.yaml',
    11,
    13,
    'resources.route.params.host',
    '"${resources.route.host}" refers to resource "route" from its own params',
  ],
  [
    'placeholder-undeclared-resource.yaml',
    8,
    16,
    'containers.main.variables.DB_HOST',
    '"${resources.db.host}" refers to resource "db", which is not declared (none are declared)',
  ],
  [
    'placeholder-unknown-metadata.yaml',
    8,
    18,
    'containers.main.variables.TEAM',
    '"${metadata.team}" refers to metadata.team, which is not set (it has name)',
  ],
  [
    'placeholder-unknown-root.yaml',
    8,
    17,
    'containers.main.variables.HOME_DIR',
    '"${HOME}" is not a Score placeholder',
  ],
  [
    'placeholder-unterminated.yaml',
    8,
    16,
    'containers.main.variables.NAME',
    'unterminated placeholder "${metadata.name"',
  ],
  ['probe-bad-scheme.yaml', 9, 17, 'containers.main.readinessProbe.httpGet.scheme', 'scheme is "http"'],
  ['probe-empty.yaml', 7, 5, 'containers.main.livenessProbe', 'a probe needs httpGet or exec'],
  [
    'probe-exec-empty-command.yaml',
    9,
    18,
    'containers.main.livenessProbe.exec.command',
    'exec.command is empty',
  ],
  [
    'probe-header-bad-name.yaml',
    12,
    19,
    'containers.main.readinessProbe.httpGet.httpHeaders[0].name',
    '"X Probe" is not a valid header name',
  ],
  [
    'probe-missing-path.yaml',
    8,
    7,
    'containers.main.readinessProbe.httpGet.path',
    'missing required field "path"',
  ],
  [
    'probe-port-out-of-range.yaml',
    10,
    15,
    'containers.main.readinessProbe.httpGet.port',
    'probe port 70000 is out of range',
  ],
  ['resource-bad-class.yaml', 10, 12, 'resources.db.class', '"-large" is not a valid resource class'],
  ['resource-bad-id.yaml', 10, 9, 'resources.db.id', '"Shared_DB" is not a valid resource id'],
  ['resource-invalid-name.yaml', 8, 3, 'resources.my_db', '"my_db" is not a valid resource name'],
  ['resource-missing-type.yaml', 8, 3, 'resources.db.type', 'missing required field "type"'],
  ['resource-params-not-mapping.yaml', 10, 13, 'resources.db.params', 'must be a mapping, not a list'],
  ['resource-unknown-field.yaml', 10, 5, 'resources.db.properties', 'unknown field "properties"'],
  ['service-bad-protocol.yaml', 8, 17, 'service.ports.web.protocol', 'protocol is "tcp"'],
  [
    'service-duplicate-port.yaml',
    9,
    13,
    'service.ports.www.port',
    'port 80/TCP is already published as service.ports.web',
  ],
  ['service-invalid-port-name.yaml', 6, 5, 'service.ports.HTTP', '"HTTP" is not a valid port name'],
  ['service-port-out-of-range.yaml', 7, 13, 'service.ports.web.port', 'port 0 is out of range'],
  ['service-port-string.yaml', 7, 13, 'service.ports.web.port', 'must be a number, not the string "8080"'],
  [
    'unknown-container-field.yaml',
    7,
    5,
    'containers.main.imagePullPolicy',
    'unknown field "imagePullPolicy"',
  ],
  ['unknown-top-level-field.yaml', 4, 1, 'kind', 'unknown field "kind"'],
  [
    'variable-name-with-equals.yaml',
    8,
    7,
    'containers.main.variables["A=B"]',
    '"A=B" is not a valid variable name',
  ],
  [
    'variable-not-string.yaml',
    8,
    13,
    'containers.main.variables.PORT',
    'must be a string, not the number 8080',
  ],
  [
    'volume-missing-source.yaml',
    8,
    7,
    'containers.main.volumes["/data"].source',
    'missing required field "source"',
  ],
  [
    'volume-readonly-not-boolean.yaml',
    10,
    19,
    'containers.main.volumes["/data"].readOnly',
    'must be true or false, not the string "yes"',
  ],
  [
    'volume-undeclared-resource.yaml',
    9,
    17,
    'containers.main.volumes["/data"].source',
    '"${resources.data}" refers to resource "data", which is not declared (none are declared)',
  ],
  [
    'wrong-api-version.yaml',
    1,
    13,
    'apiVersion',
    'apiVersion must be "score.dev/v1b1", not "score.dev/v1b2"',
  ],
  ['yaml-syntax.yaml', 8, 5, '', 'YAML syntax error'],
];

describe('invalid fixtures', () => {
  it('cover at least 40 problem classes, each listed here', () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(40);
    expect(INVALID.map(([file]) => file).sort()).toEqual(list('invalid'));
  });

  it.each(INVALID)('%s: %i:%i %s', (file, line, column, path, message) => {
    const { workload, problems } = validateScore(read('invalid', file), { file });
    expect(workload).toBeUndefined();
    const found = errors(problems);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ file, line, column, path, severity: 'error' });
    expect(found[0]?.message).toContain(message);
    // Actionable: every message says what to do after saying what is wrong.
    expect(found[0]?.message).toMatch(/[:;] /);
  });
});

describe('reporting', () => {
  it('reports every problem of a file at once, in file order', () => {
    const text = [
      'apiVersion: score.dev/v1b1',
      'metadata:',
      '  name: Bad_Name',
      'containers:',
      '  web:',
      '    image: nginx',
      '    imagePullPolicy: Always',
      '    variables:',
      '      DB: ${resources.db.host}',
      '      PORT: 8080',
      '    before:',
      '      cache:',
      '        ready: started',
      '',
    ].join('\n');
    const { workload, problems } = validateScore(text, { file: 'score.yaml' });
    expect(workload).toBeUndefined();
    expect(problems.map((problem) => [problem.line, problem.column, problem.path])).toEqual([
      [3, 9, 'metadata.name'],
      [7, 5, 'containers.web.imagePullPolicy'],
      [9, 11, 'containers.web.variables.DB'],
      [10, 13, 'containers.web.variables.PORT'],
      [12, 7, 'containers.web.before.cache'],
    ]);
    expect(formatProblem(problems[1]!)).toBe(
      'score.yaml:7:5: containers.web.imagePullPolicy: unknown field "imagePullPolicy": Score containers have image, command, args, variables, files, volumes, before, resources, livenessProbe, readinessProbe',
    );
  });

  it('suggests the field a misspelt one was meant to be', () => {
    const text =
      'apiVersion: score.dev/v1b1\nmetadata:\n  name: demo\ncontainers:\n  web:\n    image: x\n    varibles: {}\n';
    expect(validateScore(text).problems[0]?.message).toContain('did you mean "variables"?');
  });

  it('keeps validating after a duplicate key, which is not a syntax error', () => {
    const text =
      'apiVersion: score.dev/v1b1\nmetadata:\n  name: demo\n  name: demo\ncontainers:\n  web: {}\n';
    expect(validateScore(text).problems.map((problem) => problem.path)).toEqual(['', 'containers.web.image']);
  });

  it('leaves file, line and column out when there is no file name or text', () => {
    const result = validateScoreObject({
      apiVersion: 'score.dev/v1b1',
      metadata: { name: 'demo' },
      containers: { web: {} },
    });
    expect(result.problems).toEqual([
      {
        path: 'containers.web.image',
        message: expect.stringContaining('missing required field "image"'),
        severity: 'error',
      },
    ]);
  });

  it('validates plain data as well as text', () => {
    const result = validateScoreObject({
      apiVersion: 'score.dev/v1b1',
      metadata: { name: 'demo' },
      containers: { web: { image: '.', files: [{ target: '/a', content: 'x' }] } },
    });
    expect(result.workload?.containers.web?.files).toEqual({ '/a': { content: 'x' } });
    expect(warnings(result.problems)).toHaveLength(1);
  });
});

describe('deprecated list forms', () => {
  it('are accepted with a warning and normalised to mappings keyed by target', () => {
    const { workload, problems } = validateScore(read('valid', 'deprecated-lists.yaml'), {
      file: 'legacy.yaml',
    });
    expect(warnings(problems).map((problem) => [problem.line, problem.column, problem.path])).toEqual([
      [8, 5, 'containers.main.files'],
      [14, 5, 'containers.main.volumes'],
    ]);
    expect(warnings(problems)[0]?.message).toMatch(/deprecated: write a mapping keyed by target path/);
    expect(workload?.containers.main?.files).toEqual({
      '/etc/motd': { content: 'Welcome to ${metadata.name}' },
      '/etc/app.bin': { binaryContent: 'aGVsbG8=', mode: '0400' },
    });
    expect(workload?.containers.main?.volumes).toEqual({
      '/data': { source: '${resources.data}', readOnly: false },
    });
  });
});

describe('placeholders', () => {
  const workload = (variables: string, extra = ''): string =>
    `apiVersion: score.dev/v1b1\nmetadata:\n  name: demo\n  annotations:\n    example.com/team: a\ncontainers:\n  main:\n    image: busybox\n    variables:\n${variables}${extra}`;

  it('treat $$ as a literal $, so an escaped placeholder names nothing', () => {
    const result = validateScore(workload('      A: $${resources.missing.host} costs $$5\n'));
    expect(result.problems).toEqual([]);
    expect(result.workload?.containers.main?.variables?.A).toBe('$${resources.missing.host} costs $$5');
  });

  it('read \\. as a dot inside a key', () => {
    expect(
      validateScore(workload('      TEAM: ${metadata.annotations.example\\.com/team}\n')).problems,
    ).toEqual([]);
    const wrong = validateScore(workload('      TEAM: ${metadata.annotations.example.com/team}\n'));
    expect(wrong.problems[0]?.message).toContain('metadata.annotations.example, which is not set');
  });

  it('are reported at the placeholder, even the second of two identical ones', () => {
    const result = validateScore(workload('      A: ${metadata.x} and ${metadata.x}\n'));
    expect(result.problems.map((problem) => problem.column)).toEqual([10, 28]);
  });

  it('are only warned about in command and args, which are not expanded', () => {
    const result = validateScore(
      workload('      A: b\n', '    args: ["--db", "${resources.db.host}", "${HOME}"]\n'),
    );
    expect(errors(result.problems)).toEqual([]);
    expect(warnings(result.problems)).toMatchObject([
      {
        line: 11,
        column: 21,
        path: 'containers.main.args[1]',
        message: expect.stringContaining('is not expanded in args'),
      },
    ]);
  });

  it('are not checked in file content with noExpand', () => {
    const files =
      '    files:\n      /run.sh:\n        noExpand: true\n        content: echo ${HOME} ${resources.x}\n';
    expect(validateScore(workload('      A: b\n', files)).problems).toEqual([]);
  });
});

describe('other warnings', () => {
  const base = 'apiVersion: score.dev/v1b1\nmetadata:\n  name: demo\ncontainers:\n';

  it('flag relative targets, absolute sources and "healthy" without a probe', () => {
    const text = `${base}  web:\n    image: x\n    files:\n      etc/a.conf:\n        source: /abs/a.conf\n    before:\n      db:\n        ready: healthy\n  db:\n    image: y\n`;
    const result = validateScore(text);
    expect(errors(result.problems)).toEqual([]);
    expect(result.problems.map((problem) => problem.path)).toEqual([
      'containers.web.files["etc/a.conf"]',
      'containers.web.files["etc/a.conf"].source',
      'containers.web.before.db.ready',
    ]);
    expect(result.workload).toBeDefined();
  });
});

describe('fileSources', () => {
  it('lists relative sources once, in order, leaving absolute ones out', () => {
    const { workload } = validateScore(read('valid', 'files-map.yaml'));
    expect(fileSources(workload!)).toEqual(['./nginx.conf', '../shared/app.conf']);
  });
});

describe('formatJsonPath', () => {
  it('uses dots for plain keys and brackets for indexes and other keys', () => {
    expect(formatJsonPath([])).toBe('');
    expect(formatJsonPath(['containers', 'web', 'variables', 'DB_HOST'])).toBe(
      'containers.web.variables.DB_HOST',
    );
    expect(formatJsonPath(['containers', 'web', 'files', '/etc/app.conf'])).toBe(
      'containers.web.files["/etc/app.conf"]',
    );
    expect(formatJsonPath(['containers', 'web', 'args', 0])).toBe('containers.web.args[0]');
    expect(formatJsonPath(['metadata', 'annotations', 'a.b', ''])).toBe('metadata.annotations["a.b"][""]');
  });
});
