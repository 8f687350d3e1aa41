// Rollback and promotion on the docker target (Podman through its Docker Engine API), through the
// built CLI against a real server: see helpers/rollback-promote.ts for the journey. Each release
// is an image built from the workload's Containerfile.
import { describeRollbackAndPromotion } from './helpers/rollback-promote.js';

/** Podman's Docker API, started by scripts/setup-test-env.sh. */
const DOCKER_HOST = process.env.PAVED_TEST_DOCKER_HOST ?? 'unix:///run/paved-test/podman.sock';

describeRollbackAndPromotion('docker', { DOCKER_HOST });
