// The Argo CD health fixtures: objects as the operator writes them, each annotated with the health its kind's
// script must return and a part of the message.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../../scripts/gen-argocd-cm.js';
import { HEALTH_STATUSES, type HealthStatus } from './lua-vm.js';

export const FIXTURE_DIR = join(REPO_ROOT, 'test', 'fixtures', 'argocd');
export const CASE = 'slipway.dev/case';
export const EXPECT_HEALTH = 'slipway.dev/expect-health';
export const EXPECT_MESSAGE = 'slipway.dev/expect-message';

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface StatusObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly generation: number;
    readonly deletionTimestamp?: string;
    readonly annotations: Record<string, string>;
  };
  readonly spec: Record<string, unknown>;
  readonly status?: { conditions?: Condition[]; [field: string]: unknown };
}

export interface HealthFixture {
  readonly object: StatusObject;
  readonly label: string;
  readonly health: HealthStatus;
  readonly message: string;
}

/** The fixture file for a kind: environments.yaml, services.yaml, previewdeployments.yaml. */
export function fixtureFile(kind: string): string {
  return join(FIXTURE_DIR, `${kind.toLowerCase()}s.yaml`);
}

export function loadHealthFixtures(kind: string): HealthFixture[] {
  const file = fixtureFile(kind);
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${file} document ${i + 1}: ${doc.errors[0]!.message}`);
    const object = doc.toJS() as StatusObject;
    const annotations = object.metadata.annotations;
    const health = annotations[EXPECT_HEALTH] as HealthStatus;
    if (object.kind !== kind) throw new Error(`${file} document ${i + 1} is a ${object.kind}`);
    if (!HEALTH_STATUSES.includes(health)) throw new Error(`${file} document ${i + 1}: ${EXPECT_HEALTH} is ${health}`);
    return {
      object,
      label: `${kind} ${object.metadata.name} (${annotations[CASE] ?? `document ${i + 1}`})`,
      health,
      message: annotations[EXPECT_MESSAGE] ?? '',
    };
  });
}

export const clone = <T>(value: T): T => structuredClone(value);
