import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCKER_HOST_PATTERN, describeDockerDetection, detectDockerHost } from './docker-host.js';

describe('detectDockerHost', () => {
  it('takes DOCKER_HOST first, as given', () => {
    expect(detectDockerHost({ DOCKER_HOST: 'tcp://10.0.0.5:2375' }, () => true)).toBe('tcp://10.0.0.5:2375');
  });

  it('then the first socket found: docker, rootful podman, the user podman', () => {
    const sockets = new Set(['/run/podman/podman.sock', '/run/user/1000/podman/podman.sock']);
    const found = (path: string) => sockets.has(path);
    expect(detectDockerHost({ XDG_RUNTIME_DIR: '/run/user/1000' }, found)).toBe(
      'unix:///run/podman/podman.sock',
    );
    sockets.delete('/run/podman/podman.sock');
    expect(detectDockerHost({ XDG_RUNTIME_DIR: '/run/user/1000' }, found)).toBe(
      'unix:///run/user/1000/podman/podman.sock',
    );
    expect(detectDockerHost({}, found)).toBeUndefined();
    expect(detectDockerHost({ DOCKER_HOST: '' }, (path) => path === '/var/run/docker.sock')).toBe(
      'unix:///var/run/docker.sock',
    );
  });

  it('looks for real sockets: a plain file at a socket path is no engine', async () => {
    const root = await mkdtemp(join(tmpdir(), 'paved-docker-host-'));
    const server = createServer();
    try {
      await mkdir(join(root, 'socket', 'podman'), { recursive: true });
      await mkdir(join(root, 'file', 'podman'), { recursive: true });
      await writeFile(join(root, 'file', 'podman', 'podman.sock'), '');
      await new Promise<void>((done) => server.listen(join(root, 'socket', 'podman', 'podman.sock'), done));
      // A machine with Docker or a rootful Podman socket finds that first; never the plain file.
      const system = ['unix:///var/run/docker.sock', 'unix:///run/podman/podman.sock'];
      expect([...system, `unix://${root}/socket/podman/podman.sock`]).toContain(
        detectDockerHost({ XDG_RUNTIME_DIR: join(root, 'socket') }),
      );
      expect(detectDockerHost({ XDG_RUNTIME_DIR: join(root, 'file') })).not.toBe(
        `unix://${root}/file/podman/podman.sock`,
      );
    } finally {
      await new Promise((done) => server.close(done));
      await rm(root, { recursive: true, force: true });
    }
  });

  it('says where it looks', () => {
    expect(describeDockerDetection({ XDG_RUNTIME_DIR: '/run/user/0' })).toBe(
      'DOCKER_HOST, /var/run/docker.sock, /run/podman/podman.sock, /run/user/0/podman/podman.sock',
    );
  });

  it('accepts unix and tcp hosts only', () => {
    for (const host of [
      'unix:///run/podman/podman.sock',
      'tcp://127.0.0.1:2375',
      'tcp://[::1]:2375',
      'tcp://docker:2376',
    ]) {
      expect(DOCKER_HOST_PATTERN.test(host), host).toBe(true);
    }
    for (const host of ['http://docker:2375', 'unix://relative.sock', 'tcp://docker', '/run/docker.sock']) {
      expect(DOCKER_HOST_PATTERN.test(host), host).toBe(false);
    }
  });
});
