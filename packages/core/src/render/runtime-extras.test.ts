import { describe, expect, it } from 'vitest';
import { PavedError } from '../errors.js';
import { scoreWorkload } from '../request/testing/score-workload.js';
import type { Container } from '../score/types.js';
import { UNKNOWN_OUTPUT, type ResourceOutputs } from './expand-template.js';
import { renderWorkloads } from './render-workloads.js';
import { RUNTIME_EXTRAS_OUTPUT, runtimeExtrasOf } from './runtime-extras.js';

function resource(uid: string, extras: unknown, outputs: Record<string, unknown> = {}): ResourceOutputs {
  return { uid, type: 'config', outputs: { ...outputs, [RUNTIME_EXTRAS_OUTPUT]: extras }, secrets: {} };
}

const flags = resource(
  'config.default#web.flags',
  {
    files: { '/etc/app/flags.json': { content: '{"beta":true}', mode: '0640' } },
    containers: {
      proxy: { image: 'envoy:1', command: ['envoy'], args: ['-c', '/x'], variables: { PORT: '9901' } },
    },
  },
  { region: 'eu' },
);

const twoContainers: Record<string, Container> = {
  main: { image: 'app:1', files: { '/etc/app/own.conf': { content: 'own' } } },
  sidecar: { image: 'side:1' },
};

function render(
  resources: [string, ResourceOutputs][],
  containers: Record<string, Container> = twoContainers,
  variables?: Record<string, string>,
) {
  const workload = scoreWorkload('web', {
    containers: variables === undefined ? containers : { main: { image: 'app:1', variables } },
  });
  const [rendered] = renderWorkloads([workload], {
    deployment: 1,
    outputs: new Map([['web', new Map(resources)]]),
  });
  return rendered!;
}

function problemsOf(work: () => unknown): string[] {
  try {
    work();
  } catch (error) {
    if (error instanceof PavedError)
      return (error.details?.problems as { message: string }[]).map((problem) => problem.message);
    throw error;
  }
  throw new Error('expected a PavedError');
}

describe('runtime extras at render', () => {
  it('puts extra files into every container of the workload and extra containers beside them', () => {
    const rendered = render([['flags', flags]]);
    const extraFile = { target: '/etc/app/flags.json', content: '{"beta":true}', mode: '0640' };
    expect(rendered.containers.main!.files).toEqual([
      { target: '/etc/app/own.conf', content: 'own' },
      extraFile,
    ]);
    expect(rendered.containers.sidecar!.files).toEqual([extraFile]);
    expect(rendered.containers.proxy).toEqual({
      image: 'envoy:1',
      command: ['envoy'],
      args: ['-c', '/x'],
      variables: { PORT: '9901' },
      secretVariables: [],
      files: [],
      volumes: [],
      before: {},
    });
    expect(Object.keys(rendered.containers)).toEqual(['main', 'sidecar', 'proxy']);
  });

  it("gives an extra container with image . the workload's build context when there is exactly one", () => {
    const local = resource('config.default#web.local', {
      containers: { helper: { image: '.', command: ['node', 'helper.mjs'] } },
    });
    const context = { dir: '/srv/ctx/abc', hash: 'sha256:abc' };
    const workload = scoreWorkload('web', { containers: { main: { image: '.' }, side: { image: '.' } } });
    const renderWith = (contexts: Record<string, { dir: string; hash: string }>) =>
      renderWorkloads([workload], {
        deployment: 1,
        outputs: new Map([['web', new Map([['local', local]])]]),
        contexts: new Map([['web', contexts]]),
      })[0]!.containers.helper!;
    expect(renderWith({ main: context, side: context }).context).toEqual(context);
    expect(renderWith({}).context).toBeUndefined();
    expect(
      renderWith({ main: context, side: { dir: '/srv/ctx/def', hash: 'sha256:def' } }).context,
    ).toBeUndefined();
  });

  it('counts a resource named twice once, and takes resources in uid order', () => {
    const other = resource('config.default#web.a-other', { files: { '/etc/b': { content: 'b' } } });
    const rendered = render([
      ['flags', flags],
      ['again', flags],
      ['other', other],
    ]);
    expect(rendered.containers.sidecar!.files.map((file) => file.target)).toEqual([
      '/etc/b',
      '/etc/app/flags.json',
    ]);
    const reversed = render([
      ['other', other],
      ['flags', flags],
    ]);
    expect(reversed.specHash).toBe(rendered.specHash);
  });

  it('makes extras part of the spec hash, so changing them restarts the workload', () => {
    const before = render([['flags', flags]]);
    expect(render([['flags', flags]]).specHash).toBe(before.specHash);
    const edited = resource('config.default#web.flags', {
      files: { '/etc/app/flags.json': { content: '{"beta":false}', mode: '0640' } },
      containers: {
        proxy: { image: 'envoy:1', command: ['envoy'], args: ['-c', '/x'], variables: { PORT: '9901' } },
      },
    });
    expect(render([['flags', edited]]).specHash).not.toBe(before.specHash);
    const otherImage = resource('config.default#web.flags', {
      files: { '/etc/app/flags.json': { content: '{"beta":true}', mode: '0640' } },
      containers: {
        proxy: { image: 'envoy:2', command: ['envoy'], args: ['-c', '/x'], variables: { PORT: '9901' } },
      },
    });
    expect(render([['flags', otherImage]]).specHash).not.toBe(before.specHash);
    const none = resource('config.default#web.flags', {});
    expect(render([['flags', none]]).specHash).not.toBe(before.specHash);
  });

  it('refuses a file a container already has, naming the workload, container, resource and path', () => {
    const clash = resource('config.default#web.clash', { files: { '/etc/app/own.conf': { content: 'x' } } });
    expect(problemsOf(() => render([['clash', clash]]))).toEqual([
      'workload "web" container main already has the file /etc/app/own.conf; resource "config.default#web.clash" (clash) adds it again through runtime extras: remove the file from the Score file or change the path in the resource\'s definition',
    ]);
  });

  it('refuses the same file from two resources, naming both', () => {
    const a = resource('config.default#web.a', { files: { '/etc/same': { content: 'a' } } });
    const b = resource('config.default#web.b', { files: { '/etc/same': { content: 'b' } } });
    expect(
      problemsOf(() =>
        render([
          ['b', b],
          ['a', a],
        ]),
      ),
    ).toEqual([
      'workload "web": resources "config.default#web.a" and "config.default#web.b" both add the file /etc/same through runtime extras: change the path in one of their definitions',
    ]);
  });

  it('refuses an extra container whose name is taken, naming both owners, and reports every problem at once', () => {
    const taken = resource('config.default#web.taken', { containers: { sidecar: { image: 'x:1' } } });
    const again = resource('config.default#web.z-again', {
      containers: { proxy: { image: 'y:1' } },
      files: { '/etc/app/own.conf': { content: 'x' } },
    });
    const error = (() => {
      try {
        render([
          ['taken', taken],
          ['flags', flags],
          ['again', again],
        ]);
      } catch (caught) {
        return caught as PavedError;
      }
      throw new Error('expected a PavedError');
    })();
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatch(/^3 render problems; first: /);
    expect(
      (error.details?.problems as { path: string; message: string }[]).map((problem) => problem.message),
    ).toEqual([
      'workload "web" already has a container sidecar; resource "config.default#web.taken" (taken) adds another through runtime extras: rename the workload\'s container or the extra one in the resource\'s definition',
      'workload "web" container main already has the file /etc/app/own.conf; resource "config.default#web.z-again" (again) adds it again through runtime extras: remove the file from the Score file or change the path in the resource\'s definition',
      'workload "web": resources "config.default#web.flags" and "config.default#web.z-again" both add a container proxy through runtime extras: rename it in one of their definitions',
    ]);
  });

  it('reports extras that break the contract as a render problem naming the resource', () => {
    const broken = resource('config.default#web.broken', { files: { relative: { content: '' } } });
    expect(problemsOf(() => render([['broken', broken]]))).toEqual([
      'workload "web" resource "broken": resource "config.default#web.broken" returned runtime extras (output "$extras") that break the contract: files.relative: must be an absolute path such as /etc/app/config.json: fix the definition that made it',
    ]);
  });

  it('skips extras a plan cannot know yet', () => {
    const planned = resource('config.default#web.flags', UNKNOWN_OUTPUT);
    const rendered = render([['flags', planned]]);
    expect(Object.keys(rendered.containers)).toEqual(['main', 'sidecar']);
    expect(rendered.containers.sidecar!.files).toEqual([]);
  });

  it('keeps $extras out of what placeholders see', () => {
    expect(
      problemsOf(() =>
        render([['flags', flags]], undefined, {
          A: '${resources.flags.$extras}',
          B: '${resources.flags.nope}',
        }),
      ),
    ).toEqual([
      'workload "web" variable A: ${resources.flags.$extras}: resource "flags" (config) has no output "$extras": runtime extras are added to the workload by Paved, not read through placeholders; its outputs are region',
      'workload "web" variable B: ${resources.flags.nope}: resource "flags" (config) has no output "nope"; its outputs are region',
    ]);
    const partial: ResourceOutputs = { ...flags, partial: true };
    expect(
      problemsOf(() => render([['flags', partial]], undefined, { A: '${resources.flags.$extras.files}' })),
    ).toHaveLength(1);
  });
});

describe('runtimeExtrasOf', () => {
  it('returns the checked extras, nothing without them, and throws INVALID_INPUT naming the resource', () => {
    expect(runtimeExtrasOf('x', { host: 'h' })).toBeUndefined();
    expect(runtimeExtrasOf('x', { [RUNTIME_EXTRAS_OUTPUT]: { files: { '/a': { content: 'a' } } } })).toEqual({
      files: { '/a': { content: 'a' } },
    });
    expect(() =>
      runtimeExtrasOf('x', { [RUNTIME_EXTRAS_OUTPUT]: { containers: { Bad_Name: { image: 'i' } } } }),
    ).toThrow(/resource "x" returned runtime extras .* containers.Bad_Name: must be a DNS label/);
    expect(() =>
      runtimeExtrasOf('x', { [RUNTIME_EXTRAS_OUTPUT]: { files: { '/a/../b': { content: '' } } } }),
    ).toThrow(/must not contain ".." segments/);
  });
});
