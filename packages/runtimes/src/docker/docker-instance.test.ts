import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { chooseCurrent, groupInstances, isComplete } from './docker-instance.js';
import {
  builtImageTag,
  describeOwner,
  environmentLabels,
  isOwned,
  LABEL,
  parseLayout,
  type InstanceLayout,
} from './docker-labels.js';

const layout: InstanceLayout = {
  containers: ['main', 'side'],
  completes: [],
  sandbox: true,
  ports: {},
  probes: {},
};

function info(
  id: string,
  instance: string,
  created: number,
  extra: Record<string, string>,
): Docker.ContainerInfo {
  return {
    Id: id,
    Created: created,
    Labels: {
      [LABEL.target]: 't',
      [LABEL.app]: 'shop',
      [LABEL.env]: 'dev',
      [LABEL.workload]: 'web',
      [LABEL.instance]: instance,
      [LABEL.deployment]: instance.split('-')[0] ?? '',
      [LABEL.specHash]: `hash-${instance}`,
      [LABEL.layout]: JSON.stringify(layout),
      ...extra,
    },
  } as unknown as Docker.ContainerInfo;
}

describe('instances from the engine list', () => {
  const list = [
    info('n-main', '2', 200, { [LABEL.container]: 'main', [LABEL.image]: 'img', [LABEL.digest]: 'sha256:1' }),
    info('o-main', '1', 100, { [LABEL.container]: 'main' }),
    info('o-side', '1', 101, { [LABEL.container]: 'side' }),
    info('o-sandbox', '1', 99, { [LABEL.role]: 'sandbox' }),
    info('n-sandbox', '2', 199, { [LABEL.role]: 'sandbox' }),
    { Id: 'foreign', Created: 1, Labels: { [LABEL.target]: 't' } } as unknown as Docker.ContainerInfo,
  ];

  it('groups containers into instances per workload, oldest first', () => {
    const groups = groupInstances(list);
    expect([...groups.keys()]).toEqual(['shop/dev/web']);
    const [old, fresh] = groups.get('shop/dev/web') ?? [];
    expect(old).toMatchObject({
      id: '1',
      deployment: 1,
      specHash: 'hash-1',
      sandbox: 'o-sandbox',
      created: 99,
    });
    expect([...(old?.containers ?? [])]).toEqual([
      ['main', 'o-main'],
      ['side', 'o-side'],
    ]);
    expect(fresh).toMatchObject({ id: '2', sandbox: 'n-sandbox' });
    expect(fresh?.images.get('main')).toEqual({ reference: 'img', digest: 'sha256:1' });
  });

  it('keeps the older complete instance after an interrupted replacement', () => {
    const [old, fresh] = groupInstances(list).get('shop/dev/web') ?? [];
    expect(old !== undefined && isComplete(old)).toBe(true);
    expect(fresh !== undefined && isComplete(fresh)).toBe(false);
    expect(chooseCurrent([old!, fresh!])).toBe(old);
    // Removing the old one had begun: the new one is what is left to keep.
    const partial = groupInstances(list.filter((entry) => entry.Id !== 'o-side')).get('shop/dev/web') ?? [];
    expect(chooseCurrent(partial)?.id).toBe('2');
  });
});

describe('labels', () => {
  it('says what belongs to a target and environment', () => {
    const labels = { [LABEL.target]: 't', [LABEL.app]: 'shop', [LABEL.env]: 'dev' };
    expect(isOwned(labels, { target: 't' })).toBe(true);
    expect(isOwned(labels, { target: 't' }, { app: 'shop', env: 'dev' })).toBe(true);
    expect(isOwned(labels, { target: 't' }, { app: 'shop', env: 'prod' })).toBe(false);
    expect(isOwned(labels, { target: 'other' })).toBe(false);
    expect(isOwned(undefined, { target: 't' })).toBe(false);
    expect(isOwned(null, { target: 't' })).toBe(false);
  });

  it("says what belongs to an installation: its own objects and unlabelled older ones, not another's", () => {
    const mine = { target: 't', installation: 'a' };
    const labelled = environmentLabels(mine, { app: 'shop', env: 'dev' });
    expect(labelled).toEqual({
      [LABEL.target]: 't',
      [LABEL.installation]: 'a',
      [LABEL.app]: 'shop',
      [LABEL.env]: 'dev',
    });
    expect(isOwned(labelled, mine, { app: 'shop', env: 'dev' })).toBe(true);
    expect(isOwned(labelled, { target: 't', installation: 'b' })).toBe(false);
    expect(isOwned(labelled, { target: 't' })).toBe(false);
    const older = environmentLabels({ target: 't' }, { app: 'shop', env: 'dev' });
    expect(older[LABEL.installation]).toBeUndefined();
    expect(isOwned(older, mine)).toBe(true);
    expect(describeOwner(mine)).toBe('docker target "t" of installation a');
  });

  it('reads a layout back and refuses a broken one', () => {
    expect(parseLayout({ [LABEL.layout]: JSON.stringify(layout) })).toEqual(layout);
    expect(parseLayout({ [LABEL.layout]: '{oops' })).toBeUndefined();
    expect(parseLayout({ [LABEL.layout]: '{"containers":"main"}' })).toBeUndefined();
    expect(parseLayout({})).toBeUndefined();
  });

  it('tags built images by app, environment, workload, container and context hash', () => {
    expect(builtImageTag({ app: 'shop', env: 'dev' }, 'web', 'main', `sha256:${'AB'.repeat(32)}`)).toBe(
      'paved/shop-dev-web-main:abababababababab',
    );
  });
});
