// Where Slipway's kinds live in the Kubernetes API.
import { GROUP, VERSION } from '../api/index.js';
import type { ResourceType } from '../runtime/index.js';

export const ENVIRONMENT_TYPE: ResourceType = {
  group: GROUP,
  version: VERSION,
  plural: 'environments',
  kind: 'Environment',
  namespaced: true,
};
export const SERVICE_TYPE: ResourceType = {
  group: GROUP,
  version: VERSION,
  plural: 'services',
  kind: 'Service',
  namespaced: true,
};
export const PREVIEW_TYPE: ResourceType = {
  group: GROUP,
  version: VERSION,
  plural: 'previewdeployments',
  kind: 'PreviewDeployment',
  namespaced: true,
};
