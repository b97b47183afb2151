// ecs.TaskDefinition — identity: the latest ACTIVE revision of the family. attrs: `arn` (with the revision),
// `family`, `revision`.
// A task definition is immutable: `update` registers a new revision. RegisterTaskDefinition is throttled at 1/s
// sustained, so the diff compares only what Slipway sets, normalised against what AWS adds on its own (default
// protocol, `essential`, `cpu: 0` on the container, empty arrays, extra log options) and with environment
// variables and secrets as sets: a definition registers again only when it really changed.
// Tags live on each revision; we register every revision with the plan's tags. Older revisions stay ACTIVE (a
// service may still run them, a rollback needs them); `delete` deregisters every ACTIVE revision carrying our
// owner tags, then asks ECS to delete them, and leaves revisions someone else registered alone.
import {
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  paginateListTaskDefinitionFamilies,
  paginateListTaskDefinitions,
  type ContainerDefinition,
  type RegisterTaskDefinitionCommandInput,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import type { AwsClients } from '../aws/clients.js';
import { errorName, isNotFound, unlessNotFound } from '../aws/errors.js';
import { advancingPages } from '../aws/pages.js';
import { userError } from '../outcome/outcome.js';
import { TAG_CLUSTER, TAG_OWNER } from '../planner/naming.js';
import type { Resolved, TaskDefinitionProps } from '../planner/plan.js';
import {
  MAX_WAVE_MS,
  takenAsPlanned,
  type Desired,
  type KindReconciler,
  type Observed,
  type ReconcileContext,
} from './contract.js';
import { waveTagsOf } from './cluster-tags.js';
import { diffProps, type DiffOptions } from './diff.js';
import { ecsTagApi, tagsFromEcs, tagsToEcs, writeTags } from './tags.js';

type Props = Resolved<TaskDefinitionProps>;

export const taskDefinitionDiffOptions: DiffOptions = {
  // ECS keeps the order it was given, but the order carries no meaning: sets.
  unordered: ['container.environment', 'container.secrets'],
};

/** `arn:...:task-definition/FAMILY:REV`, `FAMILY:REV` or `FAMILY` → `FAMILY`. */
export function familyOf(identifier: string): string {
  const tail = identifier.includes(':task-definition/') ? identifier.split(':task-definition/')[1]! : identifier;
  return tail.replace(/:\d+$/, '');
}

function revisionOf(arn: string): number {
  const m = /:(\d+)$/.exec(arn);
  return m ? Number(m[1]) : 0;
}

/**
 * Task size as a number of CPU units or MiB. Registered as strings of integers they come back so, but the API also
 * accepts (and may echo) `0.25 vCPU` or `1 GB`.
 */
export function parseTaskSize(value: string | undefined): number {
  if (!value) return 0;
  const m = /^\s*([\d.]+)\s*(vcpu|gb)?\s*$/i.exec(value);
  if (!m) return Number.NaN;
  return m[2] ? Math.round(Number(m[1]) * 1024) : Number(m[1]);
}

const byName = (a: { name?: string | undefined }, b: { name?: string | undefined }): number =>
  (a.name ?? '').localeCompare(b.name ?? '');

/**
 * A described task definition in the shape of the desired props: only what Slipway sets. Several containers (an
 * out-of-band sidecar) show as their names joined, so the diff reports it and a new revision replaces it.
 */
export function taskDefinitionProps(td: TaskDefinition): Props {
  const containers = td.containerDefinitions ?? [];
  const c: ContainerDefinition = containers[0] ?? {};
  const log = c.logConfiguration?.logDriver === 'awslogs' ? (c.logConfiguration.options ?? {}) : {};
  return {
    family: td.family ?? '',
    cpu: parseTaskSize(td.cpu),
    memory: parseTaskSize(td.memory),
    // Absent means AWS's default, X86_64.
    cpuArchitecture: td.runtimePlatform?.cpuArchitecture === 'ARM64' ? 'ARM64' : 'X86_64',
    ...(td.taskRoleArn ? { taskRoleArn: td.taskRoleArn } : {}),
    ...(td.executionRoleArn ? { executionRoleArn: td.executionRoleArn } : {}),
    container: {
      name: containers.map((x) => x.name ?? '').join(','),
      image: c.image ?? '',
      port: c.portMappings?.[0]?.containerPort ?? 0,
      environment: [...(c.environment ?? [])].sort(byName).map((e) => ({ name: e.name ?? '', value: e.value ?? '' })),
      secrets: [...(c.secrets ?? [])].sort(byName).map((s) => ({ name: s.name ?? '', valueFrom: s.valueFrom ?? '' })),
      logGroup: log['awslogs-group'] ?? '',
      logRegion: log['awslogs-region'] ?? '',
      logStreamPrefix: log['awslogs-stream-prefix'] ?? '',
    },
  };
}

/** What RegisterTaskDefinition receives: one essential Fargate container, awsvpc (so hostPort = containerPort). */
export function registrationInput(
  props: Props,
  tags: Readonly<Record<string, string>>,
): RegisterTaskDefinitionCommandInput {
  const c = props.container;
  return {
    family: props.family,
    requiresCompatibilities: ['FARGATE'],
    networkMode: 'awsvpc',
    cpu: String(props.cpu),
    memory: String(props.memory),
    runtimePlatform: { cpuArchitecture: props.cpuArchitecture, operatingSystemFamily: 'LINUX' },
    ...(props.taskRoleArn ? { taskRoleArn: props.taskRoleArn } : {}),
    ...(props.executionRoleArn ? { executionRoleArn: props.executionRoleArn } : {}),
    containerDefinitions: [
      {
        name: c.name,
        image: c.image,
        essential: true,
        portMappings: [{ containerPort: c.port, hostPort: c.port, protocol: 'tcp' }],
        environment: [...c.environment].sort(byName).map((e) => ({ name: e.name, value: e.value })),
        ...(c.secrets.length > 0
          ? { secrets: [...c.secrets].sort(byName).map((s) => ({ name: s.name, valueFrom: s.valueFrom })) }
          : {}),
        logConfiguration: {
          logDriver: 'awslogs',
          options: {
            'awslogs-group': c.logGroup,
            'awslogs-region': c.logRegion,
            'awslogs-stream-prefix': c.logStreamPrefix,
          },
        },
      },
    ],
    tags: tagsToEcs(tags),
  };
}

function toObserved(td: TaskDefinition, tags: Readonly<Record<string, string>>): Observed<'ecs.TaskDefinition'> {
  const arn = td.taskDefinitionArn ?? '';
  return {
    identifier: arn,
    props: taskDefinitionProps(td),
    tags,
    attrs: { arn, family: td.family ?? '', revision: String(td.revision ?? revisionOf(arn)) },
  };
}

/** ECS answers an unknown family or revision with a ClientException, not a NotFound. */
function isMissing(err: unknown): boolean {
  return (
    isNotFound(err) ||
    (errorName(err) === 'ClientException' && /unable to describe task definition/i.test(String((err as Error).message)))
  );
}

function describe(
  ctx: ReconcileContext,
  taskDefinition: string,
): Promise<{ td: TaskDefinition; tags: Record<string, string> } | undefined> {
  return unlessNotFound(async () => {
    const out = await ctx.aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition, include: ['TAGS'] }));
    return out.taskDefinition ? { td: out.taskDefinition, tags: tagsFromEcs(out.tags) } : undefined;
  }, isMissing);
}

/** ARNs of the family's ACTIVE revisions (the list filter is a prefix on some implementations: exact family only). */
async function activeRevisions(ctx: ReconcileContext, family: string): Promise<string[]> {
  const arns: string[] = [];
  const input = { familyPrefix: family, status: 'ACTIVE', sort: 'DESC' } as const;
  const listing = paginateListTaskDefinitions({ client: ctx.aws.ecs }, input);
  for await (const page of advancingPages(listing, (p) => p.nextToken, 'ListTaskDefinitions')) {
    arns.push(...(page.taskDefinitionArns ?? []).filter((a) => familyOf(a) === family));
  }
  return arns.sort((a, b) => revisionOf(b) - revisionOf(a));
}

/**
 * Revisions are immutable: one described once is never described again, only its tags are read. (Not from a
 * RegisterTaskDefinition answer: a describe is the one shape every pass compares against.)
 * Kept in the shape `observe` returns, without tags, for the newest revisions seen (a Service runs one at a time),
 * twice as many as the benchmark's 2,000 workloads, so that the revisions a rollout adds do not push live ones out.
 */
const revisions = new Map<string, Observed<'ecs.TaskDefinition'>>();
const MAX_REVISIONS = 4_000;

function remember(td: TaskDefinition): void {
  if (!td.taskDefinitionArn || td.status !== 'ACTIVE') return;
  revisions.delete(td.taskDefinitionArn);
  revisions.set(td.taskDefinitionArn, toObserved(td, {}));
  if (revisions.size > MAX_REVISIONS) revisions.delete(revisions.keys().next().value!);
}

/** The newest ACTIVE revision of every family of the account and region: 100 ARNs a page (a wave's bulk read). */
async function newestRevisions(ctx: ReconcileContext): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const listing = paginateListTaskDefinitions({ client: ctx.aws.ecs, pageSize: 100 }, { status: 'ACTIVE' });
  for await (const page of advancingPages(listing, (p) => p.nextToken, 'ListTaskDefinitions')) {
    for (const arn of page.taskDefinitionArns ?? []) {
      const known = out.get(familyOf(arn));
      if (!known || revisionOf(arn) > revisionOf(known)) out.set(familyOf(arn), arn);
    }
  }
  return out;
}

/**
 * From the wave's listing: the family's newest ACTIVE revision, described only the first time it is seen. Its tags
 * from the wave's scan of the cluster's tags, or taken as planned where the scan's turn it is not and the inventory
 * records this revision (waveTagsOf).
 */
async function observeListed(
  ctx: ReconcileContext,
  arn: string,
  planned: Planned | undefined,
): Promise<Observed<'ecs.TaskDefinition'> | undefined> {
  // A revision is immutable: one the inventory records is as it was registered, so tags taken as planned (waveTagsOf)
  // come with no change to write to it.
  const scanned = planned ? await waveTagsOf(ctx, planned.tags, arn, planned.recorded) : undefined;
  // Nor is the revision the inventory records described after a restart emptied `revisions`: a steady pass of an
  // owner with nothing reported registered it from this very plan (ctx.trustsRecorded).
  const described = revisions.get(arn);
  const known =
    described ??
    (planned && takenAsPlanned(ctx, planned.recorded, arn, 'immutable') ? asRegistered(arn, planned.props) : undefined);
  if (known && scanned) {
    const assumed = scanned.planned || !described;
    return { ...known, tags: scanned.tags, ...(assumed ? { assumed: true } : {}) };
  }
  const found = await describe(ctx, arn);
  if (!found || found.td.status !== 'ACTIVE') return undefined;
  remember(found.td);
  // Described with its tags: those, not any taken as planned.
  return toObserved(found.td, found.tags);
}

/**
 * The families with an ACTIVE revision, 100 a page, every page (one that does not advance fails the listing). A
 * family exists for observeFamily while it has one: one whose revisions are all INACTIVE is not listed and reads as
 * absent either way. (moto ignores the status and lists every family it holds: more names, each then described.)
 */
async function activeFamilies(ctx: ReconcileContext): Promise<ReadonlySet<string>> {
  const names = new Set<string>();
  const listing = paginateListTaskDefinitionFamilies({ client: ctx.aws.ecs, pageSize: 100 }, { status: 'ACTIVE' });
  for await (const page of advancingPages(listing, (p) => p.nextToken, 'ListTaskDefinitionFamilies')) {
    for (const family of page.families ?? []) names.add(family);
  }
  return names;
}

/** What observe knows of a planned revision: its planned props and tags, and the revision the inventory records. */
interface Planned {
  readonly props: Props;
  readonly tags: Readonly<Record<string, string>>;
  readonly recorded: string | undefined;
}

/** A recorded revision taken as registered from the planned props (observeListed), without its tags. */
function asRegistered(arn: string, props: Props): Observed<'ecs.TaskDefinition'> {
  return { identifier: arn, props, tags: {}, attrs: { arn, family: familyOf(arn), revision: String(revisionOf(arn)) } };
}

async function observeFamily(
  ctx: ReconcileContext,
  family: string,
  planned?: Planned,
): Promise<Observed<'ecs.TaskDefinition'> | undefined> {
  // A brand-new owner's family is looked for among the account's active families first: absent there, it is not
  // described. A registration that follows a stale listing (someone registered the family since) is taken back by
  // create (undoIfForeign): it is not the family's first revision, and a check that cannot tell takes ours back too.
  // So the listing is kept as long as a listing may be (a burst of 2,000 new families at RegisterTaskDefinition's 1 a
  // second lasts over half an hour: about 3 listings rather than 45 of up to 20 pages).
  const families = await ctx.existing(
    'ecs:task-definition-families',
    'ecs.TaskDefinition',
    activeFamilies,
    MAX_WAVE_MS,
  );
  if (families && !families.has(family)) return undefined;
  const listed = await ctx.bulk('ecs:task-definitions', newestRevisions);
  if (listed) {
    const arn = listed.get(family);
    return arn ? observeListed(ctx, arn, planned) : undefined;
  }
  // By family, AWS describes the latest ACTIVE revision: one call in the common case.
  const latest = await describe(ctx, family);
  if (!latest) return undefined;
  // Remembered here too: a revision described outside a wave is not described again by a wave. (One registered by a
  // brand-new owner is not described at all: a wave takes the revision its inventory records as registered.)
  remember(latest.td);
  if (latest.td.status === 'ACTIVE') return toObserved(latest.td, latest.tags);
  // Some implementations (moto) answer with the newest revision even when it is INACTIVE: list the active ones.
  const [newest] = await activeRevisions(ctx, family);
  if (!newest) return undefined;
  const found = await describe(ctx, newest);
  if (found) remember(found.td);
  return found?.td.status === 'ACTIVE' ? toObserved(found.td, found.tags) : undefined;
}

async function register(
  ctx: ReconcileContext,
  desired: Desired<'ecs.TaskDefinition'>,
): Promise<Observed<'ecs.TaskDefinition'>> {
  const out = await ctx.aws.ecs.send(new RegisterTaskDefinitionCommand(registrationInput(desired.props, desired.tags)));
  if (!out.taskDefinition)
    throw new Error(`RegisterTaskDefinition ${desired.props.family} returned no task definition`);
  return toObserved(out.taskDefinition, { ...desired.tags });
}

const sameOwner = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean =>
  a[TAG_CLUSTER] !== undefined && a[TAG_CLUSTER] === b[TAG_CLUSTER] && a[TAG_OWNER] === b[TAG_OWNER];

/**
 * After a create: a family's first registration is revision 1. A later one means the family had revisions before,
 * and the observe that found none ACTIVE may have missed one registered since (a brand-new owner's family listing
 * is up to MAX_WAVE_MS old). If another owner's ACTIVE revision is there, ours is deregistered again, so that the
 * family still resolves to theirs, and the create fails as the conflict an observe would have reported. If the check
 * itself fails (throttled, the pass's deadline), ours is deregistered too, through the shared clients (the pass's
 * signal may have fired), since it is not known whose family it joined: the next pass registers again and checks.
 */
async function undoIfForeign(
  ctx: ReconcileContext,
  desired: Desired<'ecs.TaskDefinition'>,
  registered: Observed<'ecs.TaskDefinition'>,
): Promise<void> {
  if (Number(registered.attrs.revision) <= 1) return;
  const takeBack = (aws: Pick<AwsClients, 'ecs'>) =>
    unlessNotFound(
      () => aws.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: registered.identifier })),
      isMissing,
    );
  let foreign: { readonly arn: string; readonly owner: string | undefined } | undefined;
  try {
    foreign = await foreignRevision(ctx, desired, registered.identifier);
  } catch (err) {
    await takeBack(ctx.aws.root).catch(() => undefined);
    throw err;
  }
  if (!foreign) return;
  await takeBack(ctx.aws);
  throw userError(
    'OwnershipConflict',
    `ecs.TaskDefinition ${foreign.arn} already exists and is ${
      foreign.owner ? `owned by ${foreign.owner}` : 'not created by Slipway'
    }; Slipway will not register into its family. Rename or remove it`,
  );
}

/** An ACTIVE revision of the family, other than `ours`, that carries another owner's tags (or none). */
async function foreignRevision(
  ctx: ReconcileContext,
  desired: Desired<'ecs.TaskDefinition'>,
  ours: string,
): Promise<{ readonly arn: string; readonly owner: string | undefined } | undefined> {
  for (const arn of await activeRevisions(ctx, desired.props.family)) {
    if (arn === ours) continue;
    const found = await describe(ctx, arn);
    if (found && !sameOwner(found.tags, desired.tags)) return { arn, owner: found.tags[TAG_OWNER] };
  }
  return undefined;
}

/** DeleteTaskDefinitions takes at most 10 revisions per call. */
const DELETE_BATCH = 10;

/**
 * Deregisters and deletes the revisions among `arns` that carry `owner`'s tags (a revision registered by someone
 * else in the family is left alone). Deregistered revisions still count against quotas and stay describable;
 * DeleteTaskDefinitions lets ECS remove them once no task uses them.
 */
async function retire(
  ctx: ReconcileContext,
  arns: readonly string[],
  owner: Readonly<Record<string, string>>,
): Promise<void> {
  const ours: string[] = [];
  for (const arn of arns) {
    const found = await describe(ctx, arn);
    if (!found || !sameOwner(found.tags, owner)) continue;
    try {
      await ctx.aws.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn }));
      ours.push(arn);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  for (let i = 0; i < ours.length; i += DELETE_BATCH) {
    await ctx.aws.ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: ours.slice(i, i + DELETE_BATCH) }));
  }
}

/**
 * Tokens of the task-definition bucket (burst 20, 1 a second) that must stay free for registrations before an
 * update tidies older revisions: tidying waits for a quiet moment rather than slow a wave of updates down.
 */
const TIDY_RESERVE = 10;

/**
 * After an update registered a new revision: retires the family's revisions older than the one it replaces.
 * Without this every image change leaves one more ACTIVE revision, and deleting a Service that changed image a
 * hundred times meant a hundred DeregisterTaskDefinition calls at 1 a second. Kept: the new revision and the one it
 * replaces (the ECS circuit breaker rolls back to it). Skipped while the bucket is busy; the next update or the
 * deletion retires what is left.
 */
async function tidyOlderRevisions(
  ctx: ReconcileContext,
  desired: Desired<'ecs.TaskDefinition'>,
  replaced: Observed<'ecs.TaskDefinition'>,
): Promise<void> {
  const spare = ctx.aws.spareTokens('ecs', 'DeregisterTaskDefinition') - TIDY_RESERVE;
  if (spare < 1) return;
  const keep = revisionOf(replaced.identifier);
  const older = (await activeRevisions(ctx, desired.props.family)).filter((arn) => revisionOf(arn) < keep);
  await retire(ctx, older.slice(0, Math.floor(Math.min(spare, older.length))), desired.tags);
}

export const taskDefinitionReconciler: KindReconciler<'ecs.TaskDefinition'> = {
  kind: 'ecs.TaskDefinition',

  observe: (ctx, desired, recorded) =>
    observeFamily(ctx, desired.props.family, { props: desired.props, tags: desired.tags, recorded }),
  // The inventory holds the revision seen last; the family's newest ACTIVE revision is what exists now.
  observeByIdentifier: (ctx, identifier) => observeFamily(ctx, familyOf(identifier)),

  diff: diffProps(taskDefinitionDiffOptions),

  // Revisions of one family are one resource: leftovers are matched by family, not by revision.
  identityOf: familyOf,

  async create(ctx, desired) {
    const registered = await register(ctx, desired);
    await undoIfForeign(ctx, desired, registered);
    return registered;
  },
  async update(ctx, desired, observed) {
    const registered = await register(ctx, desired);
    await tidyOlderRevisions(ctx, desired, observed);
    return registered;
  },

  async delete(ctx, observed) {
    const family = observed.attrs.family ?? familyOf(observed.identifier);
    await retire(ctx, await activeRevisions(ctx, family), observed.tags);
  },

  tagging: 'tags',

  // Tags the revision observed (the family's newest ACTIVE one): the one `observe` reads them from.
  setTags: (ctx, observed, set, remove) => writeTags(ecsTagApi(ctx, observed.identifier), set, remove),
};
