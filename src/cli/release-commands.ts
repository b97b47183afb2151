// `slipway promote` and `slipway rollback`: read the Services from the cluster, decide with release.ts, then either
// patch the target Service's spec.image (for kubectl users) or, with --write FILE, edit that manifest in place
// (manifest-edit.ts; the cluster is only read) for a GitOps pull request. Each prints what it did, old → new.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Service } from '../api/index.js';
import { SERVICE_TYPE } from '../controllers/resource-types.js';
import type { KubeClient } from '../runtime/index.js';
import { KubeApiError } from '../runtime/kube.js';
import { servicesIn, setImage } from './manifest-edit.js';
import {
  describeEntry,
  isRefusal,
  pickService,
  promotionOf,
  rollbackOf,
  subjectName,
  type Named,
  type Refusal,
  type ReleaseSubject,
} from './release.js';

/** A command that refuses: its message is the one line the user reads. */
export class Refused extends Error {
  override readonly name = 'Refused';
}

function orRefuse<T>(x: T | Refusal): T {
  if (isRefusal(x)) throw new Refused(x.refused);
  return x;
}

export interface ReleaseContext {
  readonly kube: KubeClient;
  readonly namespace: string;
  readonly now: Date;
  readonly out: (line: string) => void;
}

type ClusterService = Service & ReleaseSubject & Named;

async function servicesOf(ctx: ReleaseContext): Promise<ClusterService[]> {
  const { items } = await ctx.kube.resource<Service>(SERVICE_TYPE).listAll({ namespace: ctx.namespace });
  return items as ClusterService[];
}

/** Sets spec.image of the Service in the cluster; returns the image it replaced. */
async function writeImage(ctx: ReleaseContext, svc: ClusterService, image: string): Promise<string> {
  const old = svc.spec.image;
  // Conditional on the image read: a change made meanwhile is not overwritten unseen.
  try {
    await ctx.kube.resource<Service>(SERVICE_TYPE).jsonPatch({ namespace: ctx.namespace, name: svc.metadata.name }, [
      { op: 'test', path: '/spec/image', value: old },
      { op: 'replace', path: '/spec/image', value: image },
    ]);
  } catch (err) {
    if (err instanceof KubeApiError && (err.code === 422 || err.code === 409)) {
      throw new Refused(
        `${subjectName(svc)}: spec.image changed while this command ran, or the new image was refused (${err.status?.message ?? err.message}); run it again`,
      );
    }
    throw err;
  }
  return old;
}

/** Sets spec.image of the Service document `index` of `file` in place, keeping every other byte. */
function writeFileImage(file: string, index: number, image: string): string {
  const text = readFileSync(file, 'utf8');
  const edit = orRefuse(setImage(text, index, image, file));
  if (edit.text !== text) writeFileSync(file, edit.text);
  return edit.old;
}

/** The Service document of `file` that is application `service` on `env` (by pickService's rule). */
function serviceInFile(file: string, service: string, env: string | undefined, exactName?: string) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Refused(`${file}: no such file (--write names the manifest of the Service to change)`);
  }
  const docs = servicesIn(text);
  if (exactName) {
    const found = docs.find((d) => d.metadata.name === exactName);
    if (!found)
      throw new Refused(`${file}: no slipway.dev Service named ${exactName} in it; name the manifest that holds it`);
    return found;
  }
  const picked = pickService(docs, service, env ?? '');
  if (isRefusal(picked)) throw new Refused(`${file}: ${picked.refused}`);
  return picked;
}

export interface PromoteArgs {
  readonly service: string;
  readonly from: string;
  readonly to: string;
  readonly soakMs?: number;
  readonly write?: string;
}

export async function promote(ctx: ReleaseContext, args: PromoteArgs): Promise<void> {
  if (args.from === args.to)
    throw new Refused(`--from and --to are both ${args.from}; promote between two Environments`);
  const all = await servicesOf(ctx);
  const source = orRefuse(pickService(all, args.service, args.from));
  const promotion = orRefuse(promotionOf(source, ctx.now, args.soakMs));
  const what = `${describeEntry(promotion.entry)} of ${subjectName(source)}`;
  if (args.write) {
    const doc = serviceInFile(args.write, args.service, args.to);
    const old = writeFileImage(args.write, doc.index, promotion.image);
    const verb = old === promotion.image ? 'already set' : 'set';
    ctx.out(`Promoted ${args.service} from ${args.from} to ${args.to}: ${what}`);
    ctx.out(`  ${args.write}: Service ${doc.metadata.name} spec.image ${verb}: ${old} → ${promotion.image}`);
    ctx.out(`  The cluster is unchanged: commit the file and open a pull request.`);
    return;
  }
  const target = orRefuse(pickService(all, args.service, args.to));
  if (target.spec.image === promotion.image) {
    ctx.out(`${subjectName(target)} already runs ${promotion.image}: nothing to promote`);
    return;
  }
  const old = await writeImage(ctx, target, promotion.image);
  ctx.out(`Promoted ${args.service} from ${args.from} to ${args.to}: ${what}`);
  ctx.out(`  ${subjectName(target)} spec.image: ${old} → ${promotion.image}`);
}

export interface RollbackArgs {
  readonly service: string;
  /** Resolve SERVICE as an application on this Environment (see pickService); else SERVICE is the name. */
  readonly environment?: string;
  readonly revision?: number;
  readonly write?: string;
}

export async function rollback(ctx: ReleaseContext, args: RollbackArgs): Promise<void> {
  const all = await servicesOf(ctx);
  const subject = args.environment
    ? orRefuse(pickService(all, args.service, args.environment))
    : all.find((s) => s.metadata.name === args.service);
  if (!subject) {
    throw new Refused(
      `no Service ${args.service} in namespace ${ctx.namespace}; check the name, or name its Environment with --environment ENV`,
    );
  }
  const back = orRefuse(rollbackOf(subject, args.revision));
  const current = subject.status?.history?.[0];
  const from = current ? ` from ${describeEntry(current)}` : '';
  if (args.write) {
    const doc = serviceInFile(args.write, args.service, undefined, subject.metadata.name);
    const old = writeFileImage(args.write, doc.index, back.image);
    ctx.out(`Rolled back ${subjectName(subject)}${from} to ${describeEntry(back.entry)}`);
    ctx.out(`  ${args.write}: spec.image ${old === back.image ? 'already set' : 'set'}: ${old} → ${back.image}`);
    ctx.out(`  The cluster is unchanged: commit the file and open a pull request.`);
    return;
  }
  if (subject.spec.image === back.image) {
    ctx.out(`${subjectName(subject)} spec.image is already ${back.image}: nothing to roll back`);
    return;
  }
  const old = await writeImage(ctx, subject, back.image);
  ctx.out(`Rolled back ${subjectName(subject)}${from} to ${describeEntry(back.entry)}`);
  ctx.out(`  spec.image: ${old} → ${back.image}`);
}
